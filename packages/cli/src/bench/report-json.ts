import { publishedSource } from './published.ts';
import type { Comparison, LevelSummary, StepStats } from './summary.ts';

export interface BenchJson {
  tool: 'gatehouse bench';
  schemaVersion: 1;
  scenario: string;
  target: string;
  startedAt: string;
  stop: { durationMs: number } | { iterations: number };
  rampMs: number;
  percentileMethod: string;
  notes: string[];
  levels: Array<Omit<LevelSummary, 'steps' | 'overall'> & { steps: JsonStepStats[]; overall: JsonStepStats }>;
  published: {
    source: string;
    comparisons: Array<Omit<Comparison, 'measured'> & { measured: number | null }>;
  };
}

/** StepStats with NaN (nothing measured) written as null, which JSON can carry. */
export type JsonStepStats = {
  [K in keyof StepStats]: StepStats[K] extends number ? number | null : StepStats[K];
};

function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

function jsonStep(s: StepStats): JsonStepStats {
  return {
    ...s,
    meanMs: finite(s.meanMs),
    p50Ms: finite(s.p50Ms),
    p95Ms: finite(s.p95Ms),
    p99Ms: finite(s.p99Ms),
    maxMs: finite(s.maxMs),
  };
}

export function benchJson(input: {
  scenario: string;
  target: string;
  startedAt: Date;
  stop: BenchJson['stop'];
  rampMs: number;
  percentileMethod: string;
  notes: string[];
  levels: LevelSummary[];
  comparisons: Comparison[];
}): BenchJson {
  return {
    tool: 'gatehouse bench',
    schemaVersion: 1,
    scenario: input.scenario,
    target: input.target,
    startedAt: input.startedAt.toISOString(),
    stop: input.stop,
    rampMs: input.rampMs,
    percentileMethod: input.percentileMethod,
    notes: input.notes,
    levels: input.levels.map((l) => ({ ...l, steps: l.steps.map(jsonStep), overall: jsonStep(l.overall) })),
    published: {
      source: publishedSource,
      comparisons: input.comparisons.map((c) => ({ ...c, measured: finite(c.measured) })),
    },
  };
}
