import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PGlite, types } from '@electric-sql/pglite';
import { type DataFolderLock, lockDataFolder } from './data-folder-lock.ts';
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

interface PgliteTx {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(script: string): Promise<unknown>;
}

// PGlite's defaults (the undocumented static PGlite.defaultStartParams in 0.5), used when that static
// is gone: passing startParams replaces them.
const PGLITE_DEFAULT_START_PARAMS = [
  '--single',
  '-F',
  '-O',
  '-j',
  '-c',
  'search_path=public',
  '-c',
  'exit_on_error=false',
  '-c',
  'log_checkpoints=false',
  '-c',
  'max_worker_processes=0',
  '-c',
  'max_parallel_workers=0',
  '-c',
  'max_parallel_workers_per_gather=0',
  '-c',
  'io_method=sync',
  '-c',
  'max_parallel_maintenance_workers=0',
];

/**
 * PGlite: PostgreSQL compiled to WebAssembly, in this process. One session, so statements queue up;
 * a transaction holds the session until it ends (see the nested-use rule in sql.ts).
 * A data folder is used by one process at a time: PGlite does not lock it, so openPglite does
 * (data-folder-lock.ts) until close.
 */
// PGlite's own start parameters plus a smaller buffer pool: the embedded database serves one
// process, and 128 MB of shared buffers (PostgreSQL's default) is most of its idle footprint
// (measured: 327 → 205 MiB resident after a restart).
const START_PARAMS = [
  ...((PGlite as unknown as { defaultStartParams?: string[] }).defaultStartParams ??
    PGLITE_DEFAULT_START_PARAMS),
  '-c',
  'shared_buffers=16MB',
];

/** initdb in a worker thread, so its memory leaves with the worker (pglite-init-worker.ts). */
function initializeInWorker(dataDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // A sibling module: .ts in the repository, .js in the npm package.
    const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const worker = new Worker(new URL(`./pglite-init-worker${extension}`, import.meta.url), {
      workerData: { dataDir, startParams: START_PARAMS },
    });
    let done = false;
    worker.once('message', () => {
      done = true;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (done) resolve();
      else reject(new Error(`PGlite initialization worker exited with ${code}`));
    });
  });
}

export async function openPglite(dataDir: string | undefined): Promise<SqlWithSession> {
  if (dataDir === undefined) return startPglite(undefined, undefined);
  await mkdir(dataDir, { recursive: true });
  const lock = lockDataFolder(dataDir);
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      try {
        await initializeInWorker(dataDir);
      } catch (err) {
        throw storageErrors.create('GH_STORAGE_UNAVAILABLE', 'PGlite could not initialize its data folder', {
          cause: err,
        });
      }
    }
    return await startPglite(dataDir, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startPglite(
  dataDir: string | undefined,
  lock: DataFolderLock | undefined,
): Promise<SqlWithSession> {
  const db = new PGlite({
    ...(dataDir === undefined ? {} : { dataDir }),
    startParams: START_PARAMS,
    // Same JS types as the postgres driver (see sql.ts): int8 → number, bytea → Buffer.
    parsers: {
      [types.INT8]: parseInt8,
      [types.BYTEA]: (text: string) => Buffer.from(text.slice(2), 'hex'),
    },
  });
  try {
    await db.waitReady;
  } catch (err) {
    throw storageErrors.create('GH_STORAGE_UNAVAILABLE', 'PGlite could not start', { cause: err });
  }
  return new PgliteSql(db, lock);
}

function wrapTx(tx: PgliteTx): SqlScriptTx {
  return sqlScriptTx({
    query: async (text, params) => (await tx.query<object>(text, params)).rows,
    exec: (script) => tx.exec(script),
  });
}

class PgliteSql implements SqlWithSession {
  readonly driver = 'pglite' as const;
  readonly #db: PGlite;
  readonly #lock: DataFolderLock | undefined;
  #closed = false;

  constructor(db: PGlite, lock: DataFolderLock | undefined) {
    this.#db = db;
    this.#lock = lock;
  }

  async query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]> {
    assertUsable(this, this.#closed);
    return wrapTx(this.#db).query<T>(text, params);
  }

  async transaction<R>(fn: (tx: SqlTx) => Promise<R>): Promise<R> {
    return this.#transaction(fn);
  }

  async #transaction<R>(fn: (tx: SqlScriptTx) => Promise<R>): Promise<R> {
    assertUsable(this, this.#closed);
    try {
      return await this.#db.transaction((tx) => runInTransactionScope(this, () => fn(wrapTx(tx))));
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
    try {
      await this.#db.close();
    } finally {
      this.#lock?.release();
    }
  }

  // PGlite has a single session, so "hold one session" is the instance itself.
  async [withSqlSession]<R>(fn: (session: SqlSession) => Promise<R>): Promise<R> {
    return fn({
      query: (text, params) => this.query(text, params),
      transaction: (inner) => this.#transaction(inner),
    });
  }
}
