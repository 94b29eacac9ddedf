// Runs PGlite's initdb on an empty data folder in a worker thread, then exits. initdb touches
// hundreds of MB of WebAssembly memory that a long-running process would otherwise keep resident
// (measured: 742 → ~280 MiB idle for `gatehouse dev` after a first start); when the worker ends,
// its isolate and that memory go with it. See sql-pglite.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const { dataDir, startParams } = workerData as { dataDir: string; startParams: string[] };
const db = new PGlite({ dataDir, startParams });
await db.waitReady;
await db.close();
parentPort!.postMessage('initialized');
