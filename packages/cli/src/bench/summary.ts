import type { ClientLoad, LevelResult } from './engine.ts';
import { LatencySamples } from './latency-samples.ts';
import { type PublishedFigure, publishedFigures } from './published.ts';
import type { StepRecord, StepRole } from './recorder.ts';

/** Figures for one step (or a group of steps) at one user count. Times in ms; NaN when none succeeded. */
export interface StepStats {
  service: string;
  step: string;
  role?: StepRole;
  /** Steps run: successes plus errors. */
  count: number;
  errors: number;
  /** errors / count, 0–1. */
  errorRate: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  errorKinds: Record<string, number>;
}

export interface LevelSummary {
  users: number;
  elapsedMs: number;
  requests: number;
  iterations: number;
  /** Steps completed (successful or not) per second. */
  stepsPerSecond: number;
  steps: StepStats[];
  /** Every step of the level together. */
  overall: StepStats;
  client: ClientLoad;
}

export type Verdict = 'beaten' | 'not beaten' | 'no data';

export interface Comparison {
  figure: PublishedFigure['figure'];
  users: number;
  published: number;
  /** The measured mean (ms) or error rate (fraction); NaN when nothing was measured. */
  measured: number;
  measuredP95Ms?: number;
  samples: number;
  verdict: Verdict;
}

function stats(service: string, step: string, role: StepRole | undefined, records: StepRecord[]): StepStats {
  const samples = records.length === 1 ? records[0]!.samples : new LatencySamples();
  if (records.length !== 1) for (const r of records) samples.addAll(r.samples);
  const errors = records.reduce((n, r) => n + r.errors, 0);
  const errorKinds: Record<string, number> = {};
  for (const r of records) for (const [k, n] of r.errorKinds) errorKinds[k] = (errorKinds[k] ?? 0) + n;
  const count = samples.count + errors;
  return {
    service,
    step,
    ...(role === undefined ? {} : { role }),
    count,
    errors,
    errorRate: count === 0 ? 0 : errors / count,
    meanMs: samples.mean(),
    p50Ms: samples.percentile(50),
    p95Ms: samples.percentile(95),
    p99Ms: samples.percentile(99),
    maxMs: samples.max(),
    errorKinds,
  };
}

export function summarizeLevel(level: LevelResult): LevelSummary {
  const records = [...level.recorder.steps.values()];
  const steps = records.map((r) => stats(r.service, r.step, r.role, [r]));
  const overall = stats('all', 'all steps', undefined, records);
  return {
    users: level.users,
    elapsedMs: level.elapsedMs,
    requests: level.recorder.requests,
    iterations: level.recorder.completedIterations,
    stepsPerSecond: overall.count / (level.elapsedMs / 1000),
    steps,
    overall,
    client: level.client,
  };
}

/** The auth service's steps stand for `mw_auth`; steps tagged login / token for the other two figures. */
function measuredFor(figure: PublishedFigure['figure'], level: LevelResult): StepStats | undefined {
  const records = [...level.recorder.steps.values()];
  const chosen =
    figure === 'login time'
      ? records.filter((r) => r.role === 'login')
      : figure === 'token generation time'
        ? records.filter((r) => r.role === 'token')
        : records.filter((r) => r.service === 'auth');
  if (chosen.length === 0) return undefined;
  return stats('auth', figure, undefined, chosen);
}

/**
 * Each published figure next to the measured one at the same user count. An error rate is beaten
 * when the measured rate is not higher. A time is beaten when the measured mean is lower and those
 * steps failed no more often than the published `mw_auth` error rate at that user count, so that
 * fast failures cannot beat a figure.
 */
export function compareWithPublished(levels: LevelResult[]): Comparison[] {
  const out: Comparison[] = [];
  for (const p of publishedFigures) {
    const level = levels.find((l) => l.users === p.users);
    if (!level) continue;
    const m = measuredFor(p.figure, level);
    const isRate = p.figure === 'mw_auth error rate';
    const measured = m === undefined ? Number.NaN : isRate ? m.errorRate : m.meanMs;
    const allowedErrorRate =
      publishedFigures.find((f) => f.figure === 'mw_auth error rate' && f.users === p.users)?.value ?? 0;
    const beaten = isRate ? measured <= p.value : measured < p.value && m!.errorRate <= allowedErrorRate;
    // Every try failed: the figure was attempted and missed, which is not the same as not measured.
    const verdict: Verdict =
      m === undefined ? 'no data' : !Number.isNaN(measured) && beaten ? 'beaten' : 'not beaten';
    out.push({
      figure: p.figure,
      users: p.users,
      published: p.value,
      measured,
      ...(isRate || m === undefined ? {} : { measuredP95Ms: m.p95Ms }),
      samples: m?.count ?? 0,
      verdict,
    });
  }
  return out;
}
