import { readFile } from 'node:fs/promises';
import { type Authz, parseModel, type TupleKey } from '@gatehouse/authz';
import { parse } from 'yaml';

/** The store's name: the gateway's permission routes (routes.yaml) and the service look it up by it. */
export const BEEP_STORE = 'beep';

const MODEL_FILE = new URL('../model/beep.fga', import.meta.url);
const DEMO_TUPLES_FILE = new URL('../model/campus-tuples.yaml', import.meta.url);

/** The model in beep.fga, as the DSL. */
export function readBeepModel(): Promise<string> {
  return readFile(MODEL_FILE, 'utf8');
}

/** The demo server `campus` (campus-tuples.yaml, the same tuples the store tests start from). */
export async function readDemoTuples(): Promise<TupleKey[]> {
  const doc: unknown = parse(await readFile(DEMO_TUPLES_FILE, 'utf8'));
  if (!Array.isArray(doc)) throw new Error(`${DEMO_TUPLES_FILE.pathname}: expected a list of tuples`);
  return doc as TupleKey[];
}

const sameModel = (a: unknown, b: unknown): boolean => {
  const pick = (m: unknown) => {
    const { type_definitions, conditions } = m as { type_definitions?: unknown; conditions?: unknown };
    return JSON.stringify({ type_definitions, conditions: conditions ?? {} });
  };
  return pick(a) === pick(b);
};

/**
 * The `beep` store, created at the first start with the model and (development) the demo server;
 * later starts find it by name, keep its relationships, and write the model again only when
 * beep.fga changed (each write is a new model version; checks use the newest).
 */
export async function ensureBeepStore(authz: Authz, options: { seed: boolean }): Promise<string> {
  const model = await readBeepModel();
  const found = (await authz.listStores({ name: BEEP_STORE })).stores[0];
  const storeId = found?.id ?? (await authz.createStore({ name: BEEP_STORE })).id;
  const newest = found
    ? (await authz.readAuthorizationModels(storeId, { pageSize: 1 })).authorizationModels[0]
    : undefined;
  if (!newest || !sameModel(newest, parseModel({ dsl: model }))) {
    await authz.writeAuthorizationModel(storeId, { dsl: model });
  }
  if (!found && options.seed) {
    await authz.write(storeId, {
      writes: { tupleKeys: await readDemoTuples(), onDuplicate: 'ignore' },
    });
  }
  return storeId;
}
