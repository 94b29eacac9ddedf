import { readFile } from 'node:fs/promises';
import { type Authz, parseModel, type TupleKey } from '@gatehouse/authz';
import { parse } from 'yaml';

export interface PermissionStoreSpec {
  /** The store's name: routes.yaml's `permission` policies and the services look it up by it. */
  name: string;
  /** The model, an OpenFGA `.fga` file. */
  modelFile: URL;
  /** Tuples written when the store is first created (a YAML list; development only). */
  seedFile?: URL | undefined;
}

/** A YAML list of tuples, as OpenFGA's store test files take them (`tuple_file`). */
export async function readTuplesFile(file: URL): Promise<TupleKey[]> {
  const doc: unknown = parse(await readFile(file, 'utf8'));
  if (!Array.isArray(doc)) throw new Error(`${file.pathname}: expected a list of tuples`);
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
 * An example's permission store, created at its first start with its model and (when `seed`) its
 * demo tuples; later starts find it by name and keep its relationships, and write the model again
 * only when the file changed (each write is a new version; checks use the newest). Returns its id.
 */
export async function ensurePermissionStore(
  authz: Authz,
  spec: PermissionStoreSpec,
  options: { seed: boolean },
): Promise<string> {
  const model = await readFile(spec.modelFile, 'utf8');
  const found = (await authz.listStores({ name: spec.name })).stores[0];
  const storeId = found?.id ?? (await authz.createStore({ name: spec.name })).id;
  const newest = found
    ? (await authz.readAuthorizationModels(storeId, { pageSize: 1 })).authorizationModels[0]
    : undefined;
  if (!newest || !sameModel(newest, parseModel({ dsl: model }))) {
    await authz.writeAuthorizationModel(storeId, { dsl: model });
  }
  if (!found && options.seed && spec.seedFile) {
    await authz.write(storeId, {
      writes: { tupleKeys: await readTuplesFile(spec.seedFile), onDuplicate: 'ignore' },
    });
  }
  return storeId;
}
