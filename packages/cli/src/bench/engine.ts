import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchHttp } from './http-client.ts';
import { Recorder } from './recorder.ts';
import type { ScenarioPlan, Step, UserFlow } from './scenario.ts';
import { errorKind } from './step-errors.ts';

/** How long each user count runs: for a time, or for a number of loops per virtual user. */
export type StopRule = { durationMs: number } | { iterations: number };

export interface LevelOptions {
  plan: ScenarioPlan;
  users: number;
  stop: StopRule;
  target: string;
  /** Users start evenly spread over this time instead of all at once. */
  rampMs?: number;
  timeoutMs?: number;
  runId?: string;
  /** Ends the level early (Ctrl-C): no new step starts, steps in flight finish and are counted. */
  signal?: AbortSignal;
  /** Called once the level has started, with a live view for the progress bar. */
  onStart?(live: LiveLevel): void;
}

/** What the progress bar reads while a level runs. */
export interface LiveLevel {
  users: number;
  stop: StopRule;
  startedAt: number;
  recorder: Recorder;
}

/** How busy the load generator itself was: if it is saturated, the figures measure it, not the target. */
export interface ClientLoad {
  /** Share of the elapsed time this process spent on CPU (user + system), 100 = one full core. */
  cpuPercent: number;
  /** Share of the elapsed time the event loop was busy, 0–1. */
  eventLoopUtilization: number;
  eventLoopDelayP99Ms: number;
}

export interface LevelResult {
  users: number;
  elapsedMs: number;
  recorder: Recorder;
  client: ClientLoad;
}

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/** Runs one user count to completion and returns what it recorded. */
export async function runLevel(options: LevelOptions): Promise<LevelResult> {
  const { plan, users, stop } = options;
  const recorder = new Recorder();
  const http = new BenchHttp({
    target: options.target,
    connections: users,
    timeoutMs: options.timeoutMs ?? 30_000,
    onRequest: () => {
      recorder.requests++;
    },
  });
  const runId = options.runId ?? newRunId();
  const rampMs = options.rampMs ?? 0;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const startedAt = performance.now();
  const deadline = 'durationMs' in stop ? startedAt + stop.durationMs : Number.POSITIVE_INFINITY;
  const timeUp = () => options.signal?.aborted === true || performance.now() >= deadline;
  options.onStart?.({ users, stop, startedAt, recorder });

  async function timed(step: Step): Promise<boolean> {
    const t0 = performance.now();
    try {
      await step.run();
      recorder.success(step.service, step.name, step.role, performance.now() - t0);
      return true;
    } catch (err) {
      recorder.failure(step.service, step.name, step.role, errorKind(err));
      return false;
    }
  }

  async function virtualUser(index: number): Promise<void> {
    if (rampMs > 0 && users > 1) await sleep((rampMs * index) / users);
    const flow: UserFlow = plan.createUser({ index, users, runId, http: http.session() });
    let setUp = false;
    const iterations = 'iterations' in stop ? stop.iterations : Number.POSITIVE_INFINITY;
    for (let i = 0; i < iterations && !timeUp(); i++) {
      if (!(flow.ready?.() ?? setUp)) {
        let ok = true;
        for (const step of flow.setup) {
          if (timeUp() || !(await timed(step))) {
            ok = false;
            break;
          }
        }
        if (!ok) {
          recorder.completedIterations++;
          continue;
        }
        setUp = true;
      }
      for (const step of flow.steps) {
        if (timeUp()) break;
        await timed(step);
      }
      recorder.completedIterations++;
    }
  }

  try {
    await Promise.all(Array.from({ length: users }, (_, i) => virtualUser(i)));
  } finally {
    await http.close();
  }
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  delay.disable();
  return {
    users,
    elapsedMs,
    recorder,
    client: {
      cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100,
      eventLoopUtilization: elu.utilization,
      eventLoopDelayP99Ms: delay.count > 0 ? delay.percentile(99) / 1e6 : 0,
    },
  };
}
