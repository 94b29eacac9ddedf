import postgres from 'postgres';
import {
  assertNotInTransaction,
  mapSqlError,
  normalizeParams,
  parseInt8,
  runInTransactionScope,
  type SqlScriptTx,
  type SqlSession,
  type SqlTx,
  type SqlWithSession,
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
export async function openPostgres(url: string): Promise<SqlWithSession> {
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
    ...(query.has('connect_timeout') ? {} : { connect_timeout: 10 }),
  });
  const sql = new PostgresSql(pg);
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

function wrap(conn: PgQueryable, prepare: (text: string) => boolean): SqlScriptTx {
  return {
    async query<T>(text: string, params?: unknown[]): Promise<T[]> {
      try {
        // Always the extended protocol (the driver switches to the simple one when there are no parameters):
        // one statement per call, as on PGlite, and the same binary-safe parameter handling.
        const rows = await conn.unsafe(
          text,
          normalizeParams(params) as postgres.ParameterOrJSON<never>[],
          {
            simple: false,
            prepare: prepare(text),
          } as postgres.UnsafeQueryOptions,
        );
        // A plain array of plain objects, as from PGlite, not the driver's Result subclass of null-prototype rows.
        return rows.map((row) => ({ ...row })) as T[];
      } catch (err) {
        throw mapSqlError(err);
      }
    },
    async exec(script: string): Promise<void> {
      try {
        await conn.unsafe(script).simple();
      } catch (err) {
        throw mapSqlError(err);
      }
    },
  };
}

class PostgresSql implements SqlWithSession {
  readonly driver = 'postgres' as const;
  readonly #pg: PgClient;
  readonly #prepare = preparedTexts();
  #closed = false;

  constructor(pg: PgClient) {
    this.#pg = pg;
  }

  #check(): void {
    if (this.#closed) throw storageErrors.create('GH_STORAGE_CLOSED');
    assertNotInTransaction(this);
  }

  async query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]> {
    this.#check();
    return wrap(this.#pg, this.#prepare).query<T>(text, params);
  }

  async transaction<R>(fn: (tx: SqlTx) => Promise<R>): Promise<R> {
    this.#check();
    try {
      return (await this.#pg.begin((tx) =>
        runInTransactionScope(this, () => fn(wrap(tx as unknown as PgQueryable, this.#prepare))),
      )) as R;
    } catch (err) {
      throw mapSqlError(err);
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
    this.#check();
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
