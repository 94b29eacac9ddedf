/**
 * Test helpers (`@gatehouse/core/testing`): real PostgreSQL and Redis, isolated per test run.
 *
 * A storage test that runs on PGlite and on PostgreSQL:
 *
 * ```ts
 * import { after, before, describe, test } from 'node:test';
 * import { openTestSql, skipUnlessService, type TestSql } from '@gatehouse/core/testing';
 *
 * for (const kind of ['pglite', 'postgres'] as const) {
 *   describe(`accounts [${kind}]`, { skip: await skipUnlessService(kind) }, () => {
 *     let db: TestSql;
 *     before(async () => {
 *       db = await openTestSql(kind, { migrations: [{ component: 'idp', dir: new URL('../migrations/', import.meta.url) }] });
 *     });
 *     after(() => db?.cleanup());
 *     test('...', async () => { await db.sql.query('select 1'); });
 *   });
 * }
 * ```
 *
 * - `openTestSql('postgres')` creates a fresh schema (`uniqueSchemaName()`) in the `test` database and
 *   returns a pool whose `search_path` is that schema, so parallel test files never see each other's
 *   tables; `cleanup()` closes the pool and drops the schema. `db.url` opens more connections to the same
 *   schema (e.g. to play a second replica). `openTestSql('pglite')` is a fresh in-memory database
 *   (about 1–3 s to start: open one per `describe`, not per test).
 * - `openTestState('redis')` uses a unique `keyPrefix` and deletes its keys on `cleanup()`.
 * - `skipUnlessService(kind)` is the `skip` option value: `false` when the service answers, else the
 *   reason (printed, and the tests skip), except under `CI=true`, where it throws so the run fails.
 * - `waitFor(() => cond, { timeoutMs })` polls for an effect (a key expired, a message arrived) instead
 *   of sleeping a fixed time.
 * - `readConformanceJson('wycheproof/ed25519_test.json')` reads the shared conformance vectors
 *   (`../shared/conformance/` from the repository root); missing, they skip — under `CI=true` they fail.
 * - `startPrivateRedis()` runs a redis-server of the test's own on a free port, for tests that stop
 *   and start Redis (an outage); `privateRedisSkip()` is the `skip` value.
 * - URLs: `GATEHOUSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and
 *   `GATEHOUSE_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { type MigrationSource, migrate } from './migrations.ts';
import { openSql, type Sql } from './sql.ts';
import { openState, type SharedState } from './state.ts';

export type ServiceKind = 'postgres' | 'redis';
export type ServiceStatus = { ok: true } | { ok: false; reason: string };

export function postgresTestUrl(): string {
  return process.env['GATEHOUSE_TEST_POSTGRES_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
}

export function redisTestUrl(): string {
  return process.env['GATEHOUSE_TEST_REDIS_URL'] || 'redis://127.0.0.1:6379';
}

/** The URL without its password, for messages. */
function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

const probes = new Map<ServiceKind, Promise<ServiceStatus>>();

/** Whether the test PostgreSQL / Redis answers (asked once per process). */
export function serviceAvailable(kind: ServiceKind): Promise<ServiceStatus> {
  let probe = probes.get(kind);
  if (!probe) {
    probe = kind === 'postgres' ? probePostgres(postgresTestUrl()) : probeRedis(redisTestUrl());
    probes.set(kind, probe);
  }
  return probe;
}

async function probePostgres(url: string): Promise<ServiceStatus> {
  let pg: postgres.Sql | undefined;
  try {
    pg = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    await pg`select 1`;
    return { ok: true };
  } catch (err) {
    return {
      ok: false,
      reason: `PostgreSQL at ${displayUrl(url)} does not answer: ${(err as Error).message}`,
    };
  } finally {
    await pg?.end({ timeout: 0 }).catch(() => {});
  }
}

async function probeRedis(url: string): Promise<ServiceStatus> {
  let redis: Redis | undefined;
  let lastError: Error | undefined; // connect() only says "Connection is closed"; the event says why
  try {
    redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 5000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', (err: Error) => {
      lastError = err;
    });
    await redis.connect();
    await redis.ping();
    return { ok: true };
  } catch (err) {
    const cause = lastError ?? (err as Error);
    return { ok: false, reason: `Redis at ${displayUrl(url)} does not answer: ${cause.message}` };
  } finally {
    redis?.disconnect();
  }
}

/**
 * The `skip` option for `describe`/`test`: `false` when `kind` answers (PGlite and memory always do);
 * otherwise the reason, printed once. Under `CI=true` an unreachable service throws instead.
 */
export async function skipUnlessService(kind: ServiceKind | 'pglite' | 'memory'): Promise<false | string> {
  if (kind === 'pglite' || kind === 'memory') return false;
  const status = await serviceAvailable(kind);
  if (status.ok) return false;
  if (process.env['CI'] === 'true') {
    throw new Error(`${status.reason} (CI=true: the ${kind} tests must run, not skip)`);
  }
  process.stderr.write(`# skipping ${kind} tests: ${status.reason}\n`);
  return status.reason;
}

/** A schema / key-prefix name no other test run uses: `gh_test_<pid>_<random>`. */
export function uniqueSchemaName(prefix = 'gh_test'): string {
  return `${prefix}_${process.pid}_${randomBytes(6).toString('hex')}`;
}

export interface TestSql {
  sql: Sql;
  /** PostgreSQL only: a URL whose connections land in the same schema. */
  url: string | undefined;
  /** PostgreSQL only: the schema this run works in. */
  schema: string | undefined;
  /** Close `sql` and drop the schema. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** A ready `Sql` in an isolated, empty database (PGlite in memory, or a fresh PostgreSQL schema), optionally migrated. */
export async function openTestSql(
  kind: 'pglite' | 'postgres',
  options: { migrations?: MigrationSource[] } = {},
): Promise<TestSql> {
  const db = kind === 'pglite' ? await openPgliteTest() : await openPostgresTest();
  try {
    if (options.migrations) await migrate(db.sql, options.migrations);
  } catch (err) {
    await db.cleanup();
    throw err;
  }
  return db;
}

async function openPgliteTest(): Promise<TestSql> {
  const sql = await openSql({ driver: 'pglite' });
  return { sql, url: undefined, schema: undefined, cleanup: () => sql.close() };
}

async function openPostgresTest(): Promise<TestSql> {
  const status = await serviceAvailable('postgres');
  if (!status.ok) throw new Error(status.reason);
  const schema = uniqueSchemaName();
  const admin = postgres(postgresTestUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create schema "${schema}"`);
  const url = new URL(postgresTestUrl());
  url.searchParams.set('search_path', schema);
  let sql: Sql;
  try {
    sql = await openSql({ driver: 'postgres', url: url.toString() });
  } catch (err) {
    await admin.unsafe(`drop schema if exists "${schema}" cascade`).catch(() => {});
    await admin.end({ timeout: 0 });
    throw err;
  }
  let cleaned: Promise<void> | undefined;
  return {
    sql,
    url: url.toString(),
    schema,
    cleanup() {
      cleaned ??= (async () => {
        await sql.close();
        await admin.unsafe(`drop schema if exists "${schema}" cascade`);
        await admin.end({ timeout: 5 });
      })();
      return cleaned;
    },
  };
}

export interface TestState {
  state: SharedState;
  /** Redis only: the key prefix of this run (pass it to a second `openState` to share its keys). */
  keyPrefix: string | undefined;
  /** Close `state` and delete this run's keys. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** A ready `SharedState`: in-process, or Redis under a fresh key prefix. */
export async function openTestState(kind: 'memory' | 'redis'): Promise<TestState> {
  if (kind === 'memory') {
    const state = await openState({ driver: 'memory' });
    return { state, keyPrefix: undefined, cleanup: () => state.close() };
  }
  const status = await serviceAvailable('redis');
  if (!status.ok) throw new Error(status.reason);
  const keyPrefix = `${uniqueSchemaName()}:`;
  const state = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix });
  let cleaned: Promise<void> | undefined;
  return {
    state,
    keyPrefix,
    cleanup() {
      cleaned ??= (async () => {
        await state.close();
        await deleteRedisKeys(`${keyPrefix}*`);
      })();
      return cleaned;
    },
  };
}

/** Delete the keys matching `pattern` (SCAN, never KEYS, so a shared Redis is not blocked). */
export async function deleteRedisKeys(pattern: string): Promise<void> {
  const redis = new Redis(redisTestUrl(), { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Resolve once `condition` returns true (checked every `intervalMs`), or throw after `timeoutMs`.
 * For tests: wait for an effect instead of sleeping a fixed time.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 10, what = 'condition' } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The shared conformance vectors: `shared/conformance/` beside the repository, where CI clones it. */
const CONFORMANCE_DIR = new URL('../../../../shared/conformance/', import.meta.url);

/**
 * One file of the shared conformance vectors (`wycheproof/ed25519_test.json`), parsed. When the
 * folder is absent: `skip` holds the reason (printed, and the tests skip), except under `CI=true`,
 * where it throws so the run fails.
 */
export async function readConformanceJson<T>(
  path: string,
): Promise<{ skip: false; data: T } | { skip: string; data: undefined }> {
  const url = new URL(path, CONFORMANCE_DIR);
  let text: string;
  try {
    text = await readFile(url, 'utf8');
  } catch (cause) {
    const reason = `conformance vectors ${url.pathname} are missing: ${(cause as Error).message}`;
    if (process.env['CI'] === 'true') throw new Error(`${reason} (CI=true: they must run, not skip)`);
    process.stderr.write(`# skipping: ${reason}\n`);
    return { skip: reason, data: undefined };
  }
  return { skip: false, data: JSON.parse(text) as T };
}

/** A TCP relay to a service (Redis) that can drop every connection through it and refuse new ones. */
export interface CuttableRelay {
  /** The target's URL with the relay's host and port. */
  url: string;
  /** Drop every connection and refuse new ones until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Start a relay on 127.0.0.1:0 to `target` (a redis:// or postgres:// URL). */
export async function startCuttableRelay(target: string): Promise<CuttableRelay> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(to.port), to.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as { port: number }).port);
  const cut = () => {
    down = true;
    for (const s of sockets) s.destroy();
  };
  return {
    url: url.toString(),
    cut,
    restore: () => {
      down = false;
    },
    close: () => {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `false` when a redis-server can be started here (the `skip` option value), else the reason. */
export function privateRedisSkip(): false | string {
  return spawnSync('redis-server', ['--version']).status === 0 ? false : 'redis-server is not installed';
}

/** A redis-server of the test's own, never the shared one, that the test may stop and start. */
export interface PrivateRedis {
  url: string;
  /** Stop it without saving, as `redis-cli shutdown nosave` does: what it held is gone. */
  stop(): Promise<void>;
  /** Start it again on the same port. */
  start(): Promise<void>;
}

function acceptsOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Start a redis-server on a free port of 127.0.0.1, without persistence. `stop()` it when done. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    child = started;
    await waitFor(async () => started.exitCode === null && (await acceptsOn(port)), {
      what: `redis-server on port ${port}`,
      timeoutMs: 10_000,
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, stop, start };
}
