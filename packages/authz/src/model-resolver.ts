import { authzErrors } from './errors.ts';
import { TypeSystem } from './model/type-system.ts';
import { validation } from './request-input.ts';
import type { AuthzStorage } from './storage/sql-storage.ts';
import type { StoreRecord } from './storage/store-rows.ts';
import { ulidPattern } from './ulid.ts';

/** Type systems kept at most; the oldest is dropped first. */
const maxModelsCached = 1000;

/**
 * Which store and which model a request is about. A model never changes once written, so its type
 * system (conditions compiled) is built once and kept; only the store's newest model id is read on
 * every request that names none. A missing model is told apart from a missing store.
 */
export interface ModelResolver {
  /** The store, or AUTHZ_VALIDATION for a malformed id and AUTHZ_STORE_NOT_FOUND. */
  requireStore(storeId: unknown): Promise<StoreRecord>;
  /** The named model's type system, or the store's newest when `modelId` is absent or empty. */
  typeSystem(storeId: unknown, modelId: unknown): Promise<TypeSystem>;
  /** Keeps a model just written, so the requests that name it next do not read it back. */
  remember(storeId: string, ts: TypeSystem): void;
  /** Drops a deleted store's models. */
  forgetStore(storeId: string): void;
}

export function createModelResolver(storage: AuthzStorage): ModelResolver {
  const models = new Map<string, TypeSystem>();

  function requireStoreId(storeId: unknown): string {
    if (typeof storeId !== 'string' || !ulidPattern.test(storeId)) {
      throw validation(`invalid store id: '${String(storeId)}'`);
    }
    return storeId;
  }

  async function requireStore(storeId: unknown): Promise<StoreRecord> {
    const store = await storage.getStore(requireStoreId(storeId));
    if (!store) throw authzErrors.create('AUTHZ_STORE_NOT_FOUND', `store '${storeId}' not found`);
    return store;
  }

  async function typeSystem(storeId: unknown, modelId: unknown): Promise<TypeSystem> {
    const id = requireStoreId(storeId);
    let resolvedId: string | undefined;
    if (modelId !== undefined && modelId !== null && modelId !== '') {
      if (typeof modelId !== 'string' || !ulidPattern.test(modelId)) {
        throw validation(`invalid authorization model id: '${String(modelId)}'`);
      }
      resolvedId = modelId;
    } else {
      resolvedId = await storage.latestModelId(id);
      if (!resolvedId) {
        await requireStore(id);
        throw authzErrors.create('AUTHZ_LATEST_MODEL_NOT_FOUND', `store '${id}' has no authorization model`);
      }
    }
    const key = `${id}/${resolvedId}`;
    const cached = models.get(key);
    if (cached) return cached;
    const record = await storage.readModel(id, resolvedId);
    if (!record) {
      await requireStore(id);
      throw authzErrors.create('AUTHZ_MODEL_NOT_FOUND', `authorization model '${resolvedId}' not found`);
    }
    const ts = new TypeSystem(record.id, record.model);
    if (models.size >= maxModelsCached) models.delete(models.keys().next().value!);
    models.set(key, ts);
    return ts;
  }

  return {
    requireStore,
    typeSystem,
    remember(storeId, ts) {
      models.set(`${storeId}/${ts.id}`, ts);
    },
    forgetStore(storeId) {
      for (const key of models.keys()) if (key.startsWith(`${storeId}/`)) models.delete(key);
    },
  };
}
