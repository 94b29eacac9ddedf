/**
 * Cold checks of this engine against another copy of it, in the same run on the same store, so that
 * the machine's load (shared with other work) weighs on both alike.
 *
 *   ./node_modules/.bin/node bench/authz/compare.ts --baseline DIR [--tuples 10000] [--checks 100] [--pairs 6]
 *
 * --baseline  a copy of packages/authz/src to compare with (e.g. `git worktree add /tmp/base <commit>`,
 *             then /tmp/base/packages/authz/src); its `createAuthz` runs on this tree's SQL layer
 * --tuples    size of the Drive store (drive-model.ts), loaded once through this engine's `write`
 * --checks    checks per block; each pair asks one block of keys of both engines, in ABBA order
 * --pairs     number of pairs
 *
 * Prints, per engine, the latency of a cold check (mean, p50, p90, p99) and the CPU time of this
 * process per check (PostgreSQL's CPU is not counted).
 */
import { resolve } from 'node:path';
import { authzMigrations, createAuthz } from '@gatehouse/authz';
import { migrate } from '@gatehouse/core';
import { openTestSql } from '@gatehouse/core/testing';
import { benchArgs } from '../bench-args.ts';
import { driveData, driveModel } from './drive-model.ts';

const args = benchArgs(import.meta.url, {
  baseline: { type: 'string' },
  tuples: { type: 'string', default: '10000' },
  checks: { type: 'string', default: '100' },
  pairs: { type: 'string', default: '6' },
});
if (!args.baseline) {
  process.stderr.write('--baseline DIR is required\nRun with --help for the options.\n');
  process.exit(2);
}
const perBlock = Number(args.checks);
const pairs = Number(args.pairs);
const baseline = (await import(resolve(args.baseline, 'index.ts'))) as { createAuthz: typeof createAuthz };

const data = driveData(Number(args.tuples));
const db = await openTestSql('postgres');
try {
  await migrate(db.sql, [authzMigrations]);
  const engines = { this: createAuthz({ sql: db.sql }), baseline: baseline.createAuthz({ sql: db.sql }) };
  const loader = createAuthz({ sql: db.sql, limits: { maxTuplesPerWrite: 5000 } });
  const { id: store } = await loader.createStore({ name: 'drive compare' });
  await loader.writeAuthorizationModel(store, { dsl: driveModel });
  for (let i = 0; i < data.tuples.length; i += 5000) {
    await loader.write(store, { writes: { tupleKeys: data.tuples.slice(i, i + 5000) } });
  }
  const queries = data.queries(perBlock * pairs);
  const latencies = { this: [] as number[], baseline: [] as number[] };
  const cpuMs = { this: 0, baseline: 0 };
  for (let p = 0; p < pairs; p++) {
    const keys = queries.slice(p * perBlock, (p + 1) * perBlock);
    const order = p % 2 === 0 ? (['this', 'baseline'] as const) : (['baseline', 'this'] as const);
    for (const name of order) {
      const cpu0 = process.cpuUsage();
      for (const tupleKey of keys) {
        const t0 = performance.now();
        await engines[name].check(store, { tupleKey });
        latencies[name].push(performance.now() - t0);
      }
      const cpu = process.cpuUsage(cpu0);
      cpuMs[name] += (cpu.user + cpu.system) / 1000;
    }
  }
  console.log(
    `${data.tuples.length.toLocaleString('en')} tuples, ${pairs} pairs of ${perBlock} cold checks (ABBA)`,
  );
  for (const name of ['this', 'baseline'] as const) {
    const s = latencies[name].sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(2);
    const mean = (s.reduce((a, b) => a + b, 0) / s.length).toFixed(2);
    console.log(
      `${name.padEnd(9)} mean ${mean} ms  p50 ${at(0.5)}  p90 ${at(0.9)}  p99 ${at(0.99)} ms  cpu ${(cpuMs[name] / s.length).toFixed(2)} ms/check`,
    );
  }
} finally {
  await db.cleanup();
}
