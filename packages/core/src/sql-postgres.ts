import postgres from 'postgres';
import {
  assertUsable,
  mapSqlError,
  parseInt8,
  runInTransactionScope,
  type SqlScriptTx,
  type SqlSession,
  type SqlTx,
  type SqlWithSession,
  sqlScriptTx,
  withSqlSession,
} from './sql.ts';
import { storageErrors } from './storage-errors.ts';

type PgClient = postgres.Sql;
type PgQueryable = Pick<postgres.Sql, 'unsafe'>;

/** JSON as PGlite sends it: a string is taken as already-serialized JSON (the `JSON.stringify(v)` + `$n::jsonb` rule). */
function serializeJson(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * PostgreSQL through a pool (`postgres` package). Pool size and timeouts may be set in the URL query
 * (`?max=5&idle_timeout=30`); other query keys become session parameters (`?search_path=s1`).
 */
export async function openPostgres(given: string): Promise<SqlWithSession> {
  const { url, queryTimeoutMs } = takeQueryTimeout(given);
  const query = urlQuery(url);
  const pg = postgres(url, {
    // Same JS types as PGlite (see sql.ts): int8 → number, json/jsonb strings sent as they are.
    types: {
      int8: { to: 20, from: [20], parse: parseInt8, serialize: (x: unknown) => String(x) },
      json: { to: 114, from: [114, 3802], parse: (x: string) => JSON.parse(x), serialize: serializeJson },
    },
    // Server notices ("relation already exists, skipping") are not errors; keep them out of the logs.
    onnotice: () => {},
    // Our defaults, unless the URL sets them (an option given here would win over the URL's).
    ...(query.has('idle_timeout') ? {} : { idle_timeout: 60 }),
    ...(query.has('connect_timeout') ? {} : { connect_timeout: 3 }),
  });
  const sql = new PostgresSql(pg, queryTimeoutMs);
  try {
    await sql.ping();
  } catch (err) {
    await pg.end({ timeout: 0 }).catch(() => {});
    // At start-up any failure (refused, wrong password, unknown database) means "not available"; the
    // message names the server (never the password) and the driver's reason.
    const reason = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    throw storageErrors.create(
      'GH_STORAGE_UNAVAILABLE',
      `PostgreSQL at ${describeUrl(url)} does not answer: ${reason}`,
      {
        cause: err,
      },
    );
  }
  return sql;
}

/** Seconds a query or transaction may wait, connection included, unless the URL's `query_timeout` says. */
const DEFAULT_QUERY_TIMEOUT_SECONDS = 10;

/**
 * `query_timeout` is ours, not a session parameter: take it out of the URL the driver sees. It bounds
 * how long a caller waits for an answer, including the wait for a connection, which the driver
 * otherwise repeats without end while the server accepts connections and drops them (restarting).
 */
function takeQueryTimeout(url: string): { url: string; queryTimeoutMs: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url, queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_SECONDS * 1000 };
  }
  const given = u.searchParams.get('query_timeout');
  if (given === null) return { url, queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_SECONDS * 1000 };
  const seconds = Number(given);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw storageErrors.create(
      'GH_STORAGE_UNAVAILABLE',
      `query_timeout must be a positive number of seconds, not ${given}`,
    );
  }
  u.searchParams.delete('query_timeout');
  return { url: u.toString(), queryTimeoutMs: seconds * 1000 };
}

function timedOut(ms: number): Error {
  return storageErrors.create('GH_STORAGE_UNAVAILABLE', `PostgreSQL did not answer within ${ms} ms`);
}

function urlQuery(url: string): URLSearchParams {
  try {
    return new URL(url).searchParams;
  } catch {
    return new URLSearchParams(); // e.g. several hosts: the driver parses those itself
  }
}

/** host:port/database, for messages: never the user or password. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Most distinct statement texts one pool keeps prepared (per connection, on the server). */
const MAX_PREPARED_TEXTS = 500;

/**
 * Whether to run `text` as a named prepared statement. Unprepared, the driver sends a statement
 * with parameters as Parse + Describe, waits for the answer, then Bind + Execute: two round trips,
 * and PostgreSQL parses and plans it again every time. Prepared, each connection parses it once
 * and later runs are one round trip. The first MAX_PREPARED_TEXTS distinct texts are prepared, so a
 * caller that builds texts without bound cannot grow the statement caches without bound either.
 * (`?prepare=false` in the URL turns it off, e.g. behind a pooler without prepared statements.)
 */
function preparedTexts(): (text: string) => boolean {
  const texts = new Set<string>();
  return (text) => {
    if (texts.has(text)) return true;
    if (texts.size >= MAX_PREPARED_TEXTS) return false;
    texts.add(text);
    return true;
  };
}

function wrap(conn: PgQueryable, prepare: (text: string) => boolean, timeoutMs?: number): SqlScriptTx {
  return sqlScriptTx({
    query(text, params) {
      // Always the extended protocol (the driver switches to the simple one when there are no parameters):
      // one statement per call, as on PGlite, and the same binary-safe parameter handling.
      const pending = conn.unsafe(
        text,
        params as postgres.ParameterOrJSON<never>[],
        {
          simple: false,
          prepare: prepare(text),
        } as postgres.UnsafeQueryOptions,
      );
      return timeoutMs === undefined ? pending : within(pending, timeoutMs);
    },
    exec: (script) => conn.unsafe(script).simple(),
  });
}

/** The query's rows, or GH_STORAGE_UNAVAILABLE after `ms` (the query is cancelled, queued or running). */
async function within<T>(pending: Promise<T> & { cancel(): unknown }, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      pending,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          pending.cancel();
          reject(timedOut(ms));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

class PostgresSql implements SqlWithSession {
  readonly driver = 'postgres' as const;
  readonly #pg: PgClient;
  readonly #prepare = preparedTexts();
  readonly #timeoutMs: number;
  #closed = false;

  constructor(pg: PgClient, timeoutMs: number) {
    this.#pg = pg;
    this.#timeoutMs = timeoutMs;
  }

  async query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]> {
    assertUsable(this, this.#closed);
    return wrap(this.#pg, this.#prepare, this.#timeoutMs).query<T>(text, params);
  }

  async transaction<R>(fn: (tx: SqlTx) => Promise<R>): Promise<R> {
    assertUsable(this, this.#closed);
    // A transaction given up on while it waited for a connection must not run later: the caller
    // was already told it failed.
    let abandoned = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const running = this.#pg.begin((tx) => {
        if (abandoned) throw timedOut(this.#timeoutMs);
        clearTimeout(timer);
        return runInTransactionScope(this, () =>
          fn(wrap(tx as unknown as PgQueryable, this.#prepare, this.#timeoutMs)),
        );
      });
      return (await Promise.race([
        running,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            abandoned = true;
            reject(timedOut(this.#timeoutMs));
          }, this.#timeoutMs);
        }),
      ])) as R;
    } catch (err) {
      throw mapSqlError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  async ping(): Promise<void> {
    await this.query('select 1');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pg.end({ timeout: 5 });
  }

  // Session-level locks (pg_advisory_lock) belong to one connection: reserve one for the whole callback.
  async [withSqlSession]<R>(fn: (session: SqlSession) => Promise<R>): Promise<R> {
    assertUsable(this, this.#closed);
    let conn: postgres.ReservedSql;
    try {
      conn = await this.#pg.reserve();
    } catch (err) {
      throw mapSqlError(err);
    }
    const plain = wrap(conn, this.#prepare);
    try {
      return await fn({
        query: (text, params) => plain.query(text, params),
        async transaction(inner) {
          await plain.exec('begin');
          try {
            const result = await inner(plain);
            await plain.exec('commit');
            return result;
          } catch (err) {
            await plain.exec('rollback').catch(() => {});
            throw err;
          }
        },
      });
    } finally {
      conn.release();
    }
  }
}
