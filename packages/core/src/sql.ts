import { GatehouseError } from './errors.ts';
import { requestContext } from './request-context.ts';
import { storageErrors } from './storage-errors.ts';

/**
 * SQL storage: one PostgreSQL dialect, two drivers.
 *
 * - `pglite`: PostgreSQL in WebAssembly, in this process. A data folder on disk (`dataDir`), or in
 *   memory when `dataDir` is undefined. One session: statements run one at a time.
 * - `postgres`: a real server through a connection pool (`postgres` package). Pool options ride in the
 *   URL query (`?max=5`); any other query key is sent as a session parameter (`?search_path=my_schema`).
 *
 * Both return the same JS types: int2/int4/int8 → number (an int8 beyond 2^53 comes back as a bigint
 * rather than silently losing digits), float4/float8 → number, numeric → string, bool → boolean,
 * text/uuid → string, timestamptz/timestamp/date → Date, json/jsonb → parsed value (send it as
 * `JSON.stringify(v)` with `$n::jsonb`), bytea → Buffer, arrays of those → arrays. An `undefined`
 * parameter is sent as NULL. Errors from the server keep their SQLSTATE in `err.code` (`23505` on a
 * unique violation); a lost or refused connection becomes `GH_STORAGE_UNAVAILABLE` (503).
 *
 * Transactions: `transaction(fn)` commits when `fn` resolves and rolls back when it throws. Inside
 * `fn`, use only its `tx` argument. Calling the outer `sql` (query or transaction) from inside `fn`
 * throws `GH_STORAGE_NESTED_QUERY` on both drivers: on PGlite it would wait forever for the single
 * session the transaction holds, and on PostgreSQL it would run outside the transaction on another
 * connection, where it can deadlock against the transaction's own locks.
 */
export type SqlDriver = 'pglite' | 'postgres';

export interface SqlTx {
  /** Run one statement with `$1, $2` placeholders; resolves to the rows (empty for DDL / DML without RETURNING). */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

export interface Sql extends SqlTx {
  readonly driver: SqlDriver;
  transaction<R>(fn: (tx: SqlTx) => Promise<R>): Promise<R>;
  /** Resolves when the database answers; throws GH_STORAGE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type SqlOptions = { driver: 'pglite'; dataDir?: string } | { driver: 'postgres'; url: string };

/** Open a SQL storage. For `postgres`, the server must answer (else GH_STORAGE_UNAVAILABLE). */
export async function openSql(options: SqlOptions): Promise<Sql> {
  // Loaded on demand: PGlite's WebAssembly is large and a PostgreSQL deployment never needs it.
  if (options.driver === 'pglite') {
    const { openPglite } = await import('./sql-pglite.ts');
    return openPglite(options.dataDir);
  }
  if (options.driver === 'postgres') {
    const { openPostgres } = await import('./sql-postgres.ts');
    return openPostgres(options.url);
  }
  throw new Error(`unknown sql driver ${(options as { driver: unknown }).driver}`);
}

// ---- internal: used by the drivers and by migrate(), not by callers ----

/** A transaction that can also run a multi-statement script (simple protocol, no parameters). */
export interface SqlScriptTx extends SqlTx {
  exec(script: string): Promise<void>;
}

/** One database session (one connection), held for the whole callback: what session-level locks need. */
export interface SqlSession extends SqlTx {
  transaction<R>(fn: (tx: SqlScriptTx) => Promise<R>): Promise<R>;
}

/** Drivers implement this key so that migrate() can hold one session; callers never need it. */
export const withSqlSession: unique symbol = Symbol.for('gatehouse.sql.withSession');

export interface SqlWithSession extends Sql {
  [withSqlSession]<R>(fn: (session: SqlSession) => Promise<R>): Promise<R>;
}

export function hasSqlSession(sql: Sql): sql is SqlWithSession {
  return typeof (sql as Partial<SqlWithSession>)[withSqlSession] === 'function';
}

/**
 * Throw GH_STORAGE_CLOSED once `owner` is closed, and GH_STORAGE_NESTED_QUERY when `owner`'s own
 * transaction is running in this async context.
 */
export function assertUsable(owner: object, closed: boolean): void {
  if (closed) throw storageErrors.create('GH_STORAGE_CLOSED');
  const scope = requestContext.getStore()?.openTransaction;
  if (scope?.open && scope.owner === owner) throw storageErrors.create('GH_STORAGE_NESTED_QUERY');
}

/** Run `fn` marked as inside `owner`'s transaction; the mark ends with the transaction, even for timers `fn` started. */
export async function runInTransactionScope<R>(owner: object, fn: () => Promise<R>): Promise<R> {
  const scope = { owner, open: true };
  try {
    return await requestContext.run({ ...requestContext.getStore(), openTransaction: scope }, fn);
  } finally {
    scope.open = false;
  }
}

const unavailableCodes = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

/** Map a driver error: connection loss → GH_STORAGE_UNAVAILABLE; SQL errors pass through with their SQLSTATE. */
export function mapSqlError(err: unknown): unknown {
  if (err instanceof GatehouseError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (unavailableCodes.has(code) || code.startsWith('08'))) {
    return storageErrors.create('GH_STORAGE_UNAVAILABLE', undefined, { cause: err });
  }
  return err;
}

/** PostgreSQL int8 text → number; beyond 2^53 a bigint, so a large value is never silently rounded. */
export function parseInt8(text: string): number | bigint {
  const n = BigInt(text);
  return n < BigInt(Number.MIN_SAFE_INTEGER) || n > BigInt(Number.MAX_SAFE_INTEGER) ? n : Number(n);
}

/** Parameters as both drivers accept them: undefined → null. */
export function normalizeParams(params: unknown[] | undefined): unknown[] {
  return params === undefined ? [] : params.map((p) => (p === undefined ? null : p));
}

/** What a driver runs, as its own client does it: parameters already normalized. */
export interface DriverStatements {
  query(text: string, params: unknown[]): Promise<readonly object[]>;
  exec(script: string): Promise<unknown>;
}

/**
 * A driver's statements as both drivers answer them: undefined parameters sent as NULL, rows as
 * plain objects (callers compare them with deepStrictEqual), driver errors mapped by mapSqlError.
 */
export function sqlScriptTx(driver: DriverStatements): SqlScriptTx {
  return {
    async query<T>(text: string, params?: unknown[]): Promise<T[]> {
      try {
        const rows = await driver.query(text, normalizeParams(params));
        // A spread is safe for any column name, and drops a driver's row prototype.
        return rows.map((row) => ({ ...row })) as T[];
      } catch (err) {
        throw mapSqlError(err);
      }
    },
    async exec(script: string): Promise<void> {
      try {
        await driver.exec(script);
      } catch (err) {
        throw mapSqlError(err);
      }
    },
  };
}
