import { describeStopRule } from './bench-options.ts';
import { type LevelResult, newRunId, runLevel, type StopRule } from './engine.ts';
import { BenchHttp } from './http-client.ts';
import { percentileMethod } from './latency-samples.ts';
import type { ProgressBar } from './progress-bar.ts';
import { type BenchJson, benchJson } from './report-json.ts';
import { renderReport } from './report-tables.ts';
import type { Scenario, ScenarioOptions } from './scenario.ts';
import { compareWithPublished, type LevelSummary, summarizeLevel } from './summary.ts';

export interface BenchRun {
  scenario: Scenario;
  options: ScenarioOptions;
  target: string;
  users: number[];
  stop: StopRule;
  rampMs: number;
  timeoutMs: number;
  /** Stops the run early; the levels run so far (the current one cut short) are still reported. */
  signal?: AbortSignal;
  /** Set the published PartsCoder figures beside the results (default true). */
  compare?: boolean;
  progress?: ProgressBar;
  /** Where notes go while it runs (stderr in the command). */
  note?(line: string): void;
}

export interface BenchOutcome {
  report: string;
  json: BenchJson;
  levels: LevelResult[];
  summaries: LevelSummary[];
}

/** Prepares the scenario once, runs each user count in turn, and renders the results. */
export async function runBench(run: BenchRun): Promise<BenchOutcome> {
  const startedAt = new Date();
  const runId = newRunId();
  const prepareHttp = new BenchHttp({ target: run.target, connections: 4, timeoutMs: run.timeoutMs });
  let notes: string[];
  let plan: Awaited<ReturnType<Scenario['prepare']>>;
  try {
    plan = await run.scenario.prepare(prepareHttp.session(), run.options);
    notes = [...plan.notes];
  } finally {
    await prepareHttp.close();
  }
  for (const n of notes) run.note?.(`note: ${n}`);
  const levels: LevelResult[] = [];
  for (const users of run.users) {
    if (run.signal?.aborted) break;
    const level = await runLevel({
      signal: run.signal,
      plan,
      users,
      stop: run.stop,
      target: run.target,
      rampMs: run.rampMs,
      timeoutMs: run.timeoutMs,
      runId,
      onStart: (live) => run.progress?.start(live),
    });
    run.progress?.stop();
    levels.push(level);
    // Over a short level the utilization is noise (start-up, the last responses), so only warn past 1 s.
    if (level.client.eventLoopUtilization > 0.9 && level.elapsedMs >= 1000) {
      const warning = `at ${users} users the load generator's event loop was busy ${(level.client.eventLoopUtilization * 100).toFixed(0)} % of the time: latencies include its own queueing`;
      notes.push(warning);
      run.note?.(`warning: ${warning}`);
    }
  }
  if (run.signal?.aborted)
    notes.push(`stopped early: the last user count (${levels.at(-1)?.users}) ran short`);
  const summaries = levels.map(summarizeLevel);
  const comparisons = run.compare === false ? [] : compareWithPublished(levels);
  const report = renderReport({
    scenario: run.scenario.name,
    target: run.target,
    stopRule: describeStopRule(run.stop, run.rampMs),
    notes,
    levels: summaries,
    comparisons,
    percentileMethod,
  });
  const json = benchJson({
    scenario: run.scenario.name,
    target: run.target,
    startedAt,
    stop: run.stop,
    rampMs: run.rampMs,
    percentileMethod,
    notes,
    levels: summaries,
    comparisons,
  });
  return { report, json, levels, summaries };
}
