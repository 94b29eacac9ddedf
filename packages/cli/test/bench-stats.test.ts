import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LevelResult } from '../src/bench/engine.ts';
import { LatencySamples } from '../src/bench/latency-samples.ts';
import { Recorder } from '../src/bench/recorder.ts';
import { compareWithPublished, summarizeLevel } from '../src/bench/summary.ts';

function level(users: number, fill: (r: Recorder) => void): LevelResult {
  const recorder = new Recorder();
  fill(recorder);
  return {
    users,
    elapsedMs: 2000,
    recorder,
    client: { cpuPercent: 10, eventLoopUtilization: 0.1, eventLoopDelayP99Ms: 1 },
  };
}

describe('latency percentiles', () => {
  test('use the nearest rank of the sorted samples', () => {
    const s = new LatencySamples();
    // 1..100 shuffled: the sort inside must not depend on insertion order.
    for (const v of Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1)) s.add(v);
    assert.equal(s.count, 100);
    assert.equal(s.mean(), 50.5);
    assert.equal(s.percentile(50), 50);
    assert.equal(s.percentile(95), 95);
    assert.equal(s.percentile(99), 99);
    assert.equal(s.max(), 100);
  });

  test('of a small set round up to the next sample', () => {
    const s = new LatencySamples();
    for (const v of [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000]) s.add(v);
    assert.equal(s.percentile(50), 50);
    assert.equal(s.percentile(95), 1000);
    assert.equal(s.percentile(99), 1000);
    assert.equal(s.percentile(0), 10);
  });

  test('are NaN when nothing was measured', () => {
    const s = new LatencySamples();
    assert.ok(Number.isNaN(s.mean()));
    assert.ok(Number.isNaN(s.percentile(50)));
  });

  test('keep every sample past the initial capacity', () => {
    const s = new LatencySamples();
    for (let i = 1; i <= 10_000; i++) s.add(i);
    assert.equal(s.count, 10_000);
    assert.equal(s.percentile(99), 9900);
  });
});

describe('a level summary', () => {
  test('gives per-step figures, error rate and an overall row', () => {
    const summary = summarizeLevel(
      level(10, (r) => {
        for (let i = 1; i <= 9; i++) r.success('auth', 'login', 'login', i);
        r.failure('auth', 'login', 'login', 'HTTP 503');
        r.success('products', 'list', undefined, 100);
      }),
    );
    const login = summary.steps.find((s) => s.step === 'login')!;
    assert.deepEqual(
      {
        count: login.count,
        errors: login.errors,
        errorRate: login.errorRate,
        mean: login.meanMs,
        p50: login.p50Ms,
      },
      { count: 10, errors: 1, errorRate: 0.1, mean: 5, p50: 5 },
    );
    assert.deepEqual(login.errorKinds, { 'HTTP 503': 1 });
    assert.equal(summary.overall.count, 11);
    assert.equal(summary.overall.errors, 1);
    assert.equal(summary.overall.p99Ms, 100);
    assert.equal(summary.stepsPerSecond, 5.5);
  });
});

describe('the comparison with the published figures', () => {
  test('marks a lower mean as beaten and a higher one as not beaten', () => {
    const comparisons = compareWithPublished([
      level(1, (r) => {
        r.success('auth', 'login', 'login', 20);
        r.success('auth', 'token', 'token', 40);
      }),
    ]);
    const byFigure = Object.fromEntries(
      comparisons.map((c) => [c.figure, [c.published, c.measured, c.verdict]]),
    );
    assert.deepEqual(byFigure, {
      'login time': [120, 20, 'beaten'],
      'token generation time': [30, 40, 'not beaten'],
      'mw_auth response time': [120, 30, 'beaten'],
      'mw_auth error rate': [0, 0, 'beaten'],
    });
  });

  test('does not let fast failures beat a time', () => {
    const comparisons = compareWithPublished([
      level(10, (r) => {
        r.success('auth', 'login', 'login', 5);
        r.failure('auth', 'login', 'login', 'HTTP 429');
      }),
    ]);
    const login = comparisons.find((c) => c.figure === 'login time')!;
    const errors = comparisons.find((c) => c.figure === 'mw_auth error rate')!;
    assert.equal(login.verdict, 'not beaten');
    assert.deepEqual([errors.measured, errors.verdict], [0.5, 'not beaten']);
  });

  test('allows the published 2 % error rate at 100 users', () => {
    const comparisons = compareWithPublished([
      level(100, (r) => {
        for (let i = 0; i < 98; i++) r.success('auth', 'token', 'token', 10);
        r.failure('auth', 'token', 'token', 'HTTP 500');
        r.failure('auth', 'token', 'token', 'HTTP 500');
      }),
    ]);
    assert.deepEqual(
      comparisons.map((c) => [c.figure, c.verdict]),
      [
        ['login time', 'no data'],
        ['token generation time', 'beaten'],
        ['mw_auth response time', 'beaten'],
        ['mw_auth error rate', 'beaten'],
      ],
    );
  });

  test('has no rows for user counts without published figures', () => {
    assert.deepEqual(compareWithPublished([level(1000, (r) => r.success('auth', 'login', 'login', 1))]), []);
  });
});

describe('a published time where every try failed', () => {
  test('is not beaten, rather than without data', () => {
    const comparisons = compareWithPublished([
      level(1, (r) => r.failure('auth', 'login', 'login', 'HTTP 400')),
    ]);
    const login = comparisons.find((c) => c.figure === 'login time')!;
    assert.deepEqual([login.samples, Number.isNaN(login.measured), login.verdict], [1, true, 'not beaten']);
  });
});
