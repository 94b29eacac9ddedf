import { readFile } from 'node:fs/promises';
import type { Authz, TupleKey } from '@gatehouse/authz';
import { ensurePermissionStore, readTuplesFile } from '../../shared/src/permission-store.ts';

/** The store's name: the gateway's permission routes (routes.yaml) and the service look it up by it. */
export const BEEP_STORE = 'beep';

const MODEL_FILE = new URL('../model/beep.fga', import.meta.url);
const DEMO_TUPLES_FILE = new URL('../model/campus-tuples.yaml', import.meta.url);

/** The model in beep.fga, as the DSL. */
export function readBeepModel(): Promise<string> {
  return readFile(MODEL_FILE, 'utf8');
}

/** The demo server `campus` (campus-tuples.yaml, the same tuples the store tests start from). */
export function readDemoTuples(): Promise<TupleKey[]> {
  return readTuplesFile(DEMO_TUPLES_FILE);
}

/** The `beep` store with its model, and in development the demo server. */
export function ensureBeepStore(authz: Authz, options: { seed: boolean }): Promise<string> {
  return ensurePermissionStore(
    authz,
    { name: BEEP_STORE, modelFile: MODEL_FILE, seedFile: DEMO_TUPLES_FILE },
    options,
  );
}
