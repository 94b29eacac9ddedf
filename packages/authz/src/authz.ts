import type { MigrationSource, Sql } from '@gatehouse/core';
import { type CheckEnv, check } from './engine/check.ts';
import { forEachLimited } from './engine/concurrency.ts';
import { type ExpandNode, expand } from './engine/expand.ts';
import { listObjects } from './engine/list-objects.ts';
import { listUsers, type UserFilter } from './engine/list-users.ts';
import { authzErrors } from './errors.ts';
import { type AuthzLimits, resolveAuthzLimits } from './limits.ts';
import type { AuthorizationModel } from './model/model-types.ts';
import { type ModelSource, parseModel } from './model/parse-model.ts';
import { TypeSystem } from './model/type-system.ts';
import { createModelResolver } from './model-resolver.ts';
import {
  contextualTuples,
  invalidTuple,
  type Page,
  pageSize,
  requireCheckKey,
  requireContext,
  requireTupleKey,
  validation,
} from './request-input.ts';
import { type AuthzStorage, createSqlStorage } from './storage/sql-storage.ts';
import type { StoreRecord } from './storage/store-rows.ts';
import type { TupleSortKey } from './storage/tuple-pages.ts';
import { memoized, withContextualTuples } from './storage/tuple-reader.ts';
import { consistencyToken, continuation, decodeConsistencyToken, decodeContinuation } from './tokens.ts';
import {
  isValidObject,
  isValidRelation,
  parseUser,
  splitObject,
  type TupleKey,
  tupleString,
  userProblem,
  writeProblem,
} from './tuple-key.ts';
import { ulid } from './ulid.ts';

/** The authz tables' migrations, for `migrate(sql, [authzMigrations, ...])`. */
export const authzMigrations: MigrationSource = {
  component: 'authz',
  dir: new URL('../migrations/', import.meta.url),
};

export interface AuthzOptions {
  sql: Sql;
  limits?: Partial<AuthzLimits>;
}

/** Fields every query takes: which model (the store's newest when absent) and how fresh. */
export interface QueryOptions {
  authorizationModelId?: string | undefined;
  /** A token from a write: the answer reflects at least that write. */
  consistencyToken?: string | undefined;
  contextualTuples?: TupleKey[] | undefined;
  context?: Record<string, unknown> | undefined;
}

export interface CheckRequest extends QueryOptions {
  tupleKey: { object: string; relation: string; user: string };
}

export interface BatchCheckItem {
  tupleKey: { object: string; relation: string; user: string };
  contextualTuples?: TupleKey[] | undefined;
  context?: Record<string, unknown> | undefined;
  correlationId: string;
}

export type BatchCheckResult =
  | { allowed: boolean }
  | { error: { code: string; openfga: string; message: string } };

export interface WriteRequest {
  authorizationModelId?: string | undefined;
  writes?: { tupleKeys: TupleKey[]; onDuplicate?: 'error' | 'ignore' | undefined } | undefined;
  deletes?: { tupleKeys: TupleKey[]; onMissing?: 'error' | 'ignore' | undefined } | undefined;
}

export interface Authz {
  readonly limits: Readonly<AuthzLimits>;
  createStore(request: { name: string }): Promise<StoreRecord>;
  getStore(storeId: string): Promise<StoreRecord>;
  listStores(
    request?: Page & { name?: string },
  ): Promise<{ stores: StoreRecord[]; continuationToken: string }>;
  deleteStore(storeId: string): Promise<void>;
  writeAuthorizationModel(storeId: string, source: ModelSource): Promise<{ authorizationModelId: string }>;
  readAuthorizationModel(storeId: string, id: string): Promise<AuthorizationModel & { id: string }>;
  readAuthorizationModels(
    storeId: string,
    request?: Page,
  ): Promise<{ authorizationModels: (AuthorizationModel & { id: string })[]; continuationToken: string }>;
  write(storeId: string, request: WriteRequest): Promise<{ consistencyToken: string }>;
  read(
    storeId: string,
    request?: Page & { tupleKey?: { object?: string; relation?: string; user?: string } | undefined },
  ): Promise<{ tuples: { key: TupleKey; timestamp: Date }[]; continuationToken: string }>;
  readChanges(
    storeId: string,
    request?: Page & { type?: string | undefined; startTime?: Date | undefined },
  ): Promise<{
    changes: { tupleKey: TupleKey; operation: 'write' | 'delete'; timestamp: Date }[];
    continuationToken: string;
  }>;
  check(storeId: string, request: CheckRequest): Promise<{ allowed: boolean }>;
  batchCheck(
    storeId: string,
    request: Omit<QueryOptions, 'contextualTuples' | 'context'> & { checks: BatchCheckItem[] },
  ): Promise<{ result: Record<string, BatchCheckResult> }>;
  expand(
    storeId: string,
    request: Omit<QueryOptions, 'context'> & { tupleKey: { object: string; relation: string } },
  ): Promise<{ tree: { root: ExpandNode } }>;
  listObjects(
    storeId: string,
    request: QueryOptions & { type: string; relation: string; user: string },
  ): Promise<{ objects: string[] }>;
  listUsers(
    storeId: string,
    request: QueryOptions & {
      object: { type: string; id: string };
      relation: string;
      userFilters: UserFilter[];
    },
  ): Promise<{ users: string[] }>;
}

const storeNamePattern = /^[\w\-.:/ ]{3,64}$/u;

/** The permission engine on SQL storage (the authz migrations applied; see `authzMigrations`). */
export function createAuthz(options: AuthzOptions): Authz {
  const limits = resolveAuthzLimits(options.limits);
  const storage: AuthzStorage = createSqlStorage(options.sql);
  const models = createModelResolver(storage);
  const { requireStore, typeSystem } = models;

  async function env(
    storeId: string,
    ts: TypeSystem,
    q: QueryOptions,
    contextual: TupleKey[],
  ): Promise<CheckEnv> {
    if (q.consistencyToken) {
      const wanted = decodeConsistencyToken(q.consistencyToken, storeId);
      // Reads go to the database the write committed to, so every committed write is visible; a token
      // beyond what this database has recorded was not made by it.
      if ((await storage.currentSeq(storeId)) < wanted) {
        throw authzErrors.create(
          'AUTHZ_INVALID_CONSISTENCY_TOKEN',
          'the consistency token is ahead of this store',
        );
      }
    }
    return {
      ts,
      reader: memoized(withContextualTuples(storage.reader(storeId), contextual)),
      context: requireContext(q.context),
      maxDepth: limits.maxResolutionDepth,
      conditionCostLimit: limits.conditionCostLimit,
    };
  }

  async function checkOne(
    storeId: string,
    ts: TypeSystem,
    q: QueryOptions & { tupleKey: unknown },
  ): Promise<{ allowed: boolean }> {
    const key = requireCheckKey(ts, q.tupleKey);
    requireContext(q.context);
    const contextual = contextualTuples(ts, q.contextualTuples, limits);
    const e = await env(storeId, ts, q, contextual);
    return { allowed: await check(e, key.object, key.relation, key.user) };
  }

  function typeAndRelation(ts: TypeSystem, type: unknown, relation: unknown): void {
    if (typeof type !== 'string' || !ts.hasType(type)) {
      throw authzErrors.create('AUTHZ_TYPE_NOT_FOUND', `type '${String(type)}' not found`);
    }
    if (typeof relation !== 'string' || !ts.relation(type, relation)) {
      throw authzErrors.create(
        'AUTHZ_RELATION_NOT_FOUND',
        `relation '${type}#${String(relation)}' not found`,
      );
    }
  }

  return {
    limits,

    async createStore(request) {
      const name = request?.name;
      if (typeof name !== 'string' || !storeNamePattern.test(name)) {
        throw validation('the store name must be 3 to 64 letters, digits, spaces or - _ . : /');
      }
      return storage.createStore(ulid(), name);
    },

    getStore: requireStore,

    async listStores(request) {
      const size = pageSize(request, limits);
      if (request?.name !== undefined && typeof request.name !== 'string')
        throw validation('name must be a string');
      const after = decodeContinuation(
        request?.continuationToken,
        'stores',
        (v): v is string => typeof v === 'string',
      );
      const stores = await storage.listStores(size, after, request?.name);
      return {
        stores,
        continuationToken: stores.length === size ? continuation('stores', stores.at(-1)!.id) : '',
      };
    },

    async deleteStore(storeId) {
      await requireStore(storeId);
      await storage.deleteStore(storeId);
      models.forgetStore(storeId);
    },

    async writeAuthorizationModel(storeId, source) {
      await requireStore(storeId);
      const model = parseModel(source);
      const bytes = Buffer.byteLength(JSON.stringify(model));
      if (bytes > limits.maxModelBytes) {
        throw authzErrors.create(
          'AUTHZ_MODEL_TOO_LARGE',
          `the model is ${bytes} bytes; at most ${limits.maxModelBytes} are allowed`,
        );
      }
      const id = ulid();
      // Compiles the conditions too: a model whose condition does not compile is refused here.
      const ts = new TypeSystem(id, model);
      await storage.writeModel(storeId, id, model);
      models.remember(storeId, ts);
      return { authorizationModelId: id };
    },

    async readAuthorizationModel(storeId, id) {
      const ts = await typeSystem(storeId, id);
      return { id: ts.id, ...ts.model };
    },

    async readAuthorizationModels(storeId, request) {
      await requireStore(storeId);
      const size = pageSize(request, limits);
      const before = decodeContinuation(
        request?.continuationToken,
        `models:${storeId}`,
        (v): v is string => typeof v === 'string',
      );
      const records = await storage.listModels(storeId, size, before);
      return {
        authorizationModels: records.map((r) => ({ id: r.id, ...r.model })),
        continuationToken:
          records.length === size ? continuation(`models:${storeId}`, records.at(-1)!.id) : '',
      };
    },

    async write(storeId, request) {
      const ts = await typeSystem(storeId, request?.authorizationModelId);
      const writes = (request?.writes?.tupleKeys ?? []) as unknown[];
      const deletes = (request?.deletes?.tupleKeys ?? []) as unknown[];
      if (!Array.isArray(writes) || !Array.isArray(deletes)) throw validation('tuple_keys must be lists');
      if (writes.length + deletes.length === 0) {
        throw validation('Invalid input. Make sure you provide at least one write or delete');
      }
      if (writes.length + deletes.length > limits.maxTuplesPerWrite) {
        throw authzErrors.create(
          'AUTHZ_TOO_MANY_TUPLES',
          `The number of write operations exceeds the allowed limit of ${limits.maxTuplesPerWrite}`,
        );
      }
      const onDuplicate = request.writes?.onDuplicate ?? 'error';
      const onMissing = request.deletes?.onMissing ?? 'error';
      if (!['error', 'ignore'].includes(onDuplicate) || !['error', 'ignore'].includes(onMissing)) {
        throw validation("on_duplicate and on_missing must be 'error' or 'ignore'");
      }
      const writeKeys = writes.map((t, i) => requireTupleKey(t, `writes[${i}]`));
      const deleteKeys = deletes.map((t, i) => requireTupleKey(t, `deletes[${i}]`));
      const seen = new Set<string>();
      for (const key of [...writeKeys, ...deleteKeys]) {
        const s = tupleString(key);
        if (seen.has(s)) {
          throw authzErrors.create(
            'AUTHZ_DUPLICATE_TUPLE_IN_REQUEST',
            `duplicate tuple in write: user: '${key.user}', relation: '${key.relation}', object: '${key.object}'`,
          );
        }
        seen.add(s);
      }
      for (const key of writeKeys) {
        const problem = writeProblem(ts, key);
        if (problem) throw invalidTuple(key, problem);
      }
      // A delete is checked for form only: a tuple the current model no longer allows must stay removable.
      for (const key of deleteKeys) {
        if (!isValidObject(key.object) || !isValidRelation(key.relation) || !parseUser(key.user)) {
          throw invalidTuple(key, { kind: 'malformed', message: 'the tuple is malformed' });
        }
      }
      const seq = await storage.writeTuples(storeId, writeKeys, deleteKeys, { onDuplicate, onMissing });
      return { consistencyToken: consistencyToken(storeId, seq) };
    },

    async read(storeId, request) {
      await requireStore(storeId);
      const size = pageSize(request, limits);
      const key = request?.tupleKey ?? {};
      const filter: { objectType?: string; objectId?: string; relation?: string; user?: string } = {};
      if (key.object !== undefined && key.object !== '') {
        const colon = typeof key.object === 'string' ? key.object.indexOf(':') : -1;
        if (colon <= 0) throw validation(`invalid object '${String(key.object)}': use type:id or type:`);
        const { type, id } = splitObject(key.object);
        filter.objectType = type;
        if (id !== '') {
          if (!isValidObject(key.object)) throw validation(`invalid object '${key.object}'`);
          filter.objectId = id;
        }
      }
      if (key.relation !== undefined && key.relation !== '') {
        if (!isValidRelation(key.relation)) throw validation(`invalid relation '${key.relation}'`);
        filter.relation = key.relation;
      }
      if (key.user !== undefined && key.user !== '') {
        if (!parseUser(key.user)) throw validation(`invalid user '${key.user}'`);
        filter.user = key.user;
      }
      if (filter.objectType && !filter.objectId && !filter.user) {
        throw validation('a read by object type alone needs a user');
      }
      const scope = `read:${storeId}:${JSON.stringify(filter)}`;
      const after = decodeContinuation(
        request?.continuationToken,
        scope,
        (v): v is TupleSortKey => Array.isArray(v) && v.length === 6 && v.every((x) => typeof x === 'string'),
      );
      const rows = await storage.readTuples(storeId, filter, size, after);
      const last = rows.at(-1);
      let next = '';
      if (last && rows.length === size) {
        const o = splitObject(last.object);
        const u = parseUser(last.user)!;
        next = continuation(scope, [o.type, o.id, last.relation, u.type, u.id, u.relation]);
      }
      return {
        tuples: rows.map(({ timestamp, ...k }) => ({ key: k, timestamp })),
        continuationToken: next,
      };
    },

    async readChanges(storeId, request) {
      await requireStore(storeId);
      const size = pageSize(request, limits);
      const type = request?.type || undefined;
      if (type !== undefined && (typeof type !== 'string' || !isValidRelation(type))) {
        throw validation(`invalid type '${String(type)}'`);
      }
      const startTime = request?.startTime;
      if (startTime !== undefined && !(startTime instanceof Date && !Number.isNaN(startTime.getTime()))) {
        throw validation('start_time must be a date');
      }
      const scope = `changes:${storeId}:${type ?? ''}`;
      const after =
        decodeContinuation(
          request?.continuationToken,
          scope,
          (v): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
        ) ?? 0;
      const changes = await storage.readChanges(
        storeId,
        type,
        size,
        after,
        after === 0 ? startTime : undefined,
      );
      // With no newer change, the same position comes back: the caller polls with it.
      const last = changes.at(-1)?.seq ?? after;
      return {
        changes: changes.map((c) => ({ tupleKey: c.tuple, operation: c.operation, timestamp: c.timestamp })),
        continuationToken: continuation(scope, last),
      };
    },

    async check(storeId, request) {
      const ts = await typeSystem(storeId, request?.authorizationModelId);
      return checkOne(storeId, ts, request);
    },

    async batchCheck(storeId, request) {
      const ts = await typeSystem(storeId, request?.authorizationModelId);
      const checks = request?.checks;
      if (!Array.isArray(checks) || checks.length === 0) throw validation('checks must be a non-empty list');
      if (checks.length > limits.maxChecksPerBatchCheck) {
        throw validation(`a batch may carry at most ${limits.maxChecksPerBatchCheck} checks`);
      }
      const ids = new Set<string>();
      for (const c of checks) {
        if (typeof c?.correlationId !== 'string' || !/^[\w\d-]{1,36}$/.test(c.correlationId)) {
          throw validation('each check needs a correlation_id of 1 to 36 letters, digits, - or _');
        }
        if (ids.has(c.correlationId)) throw validation(`duplicate correlation_id '${c.correlationId}'`);
        ids.add(c.correlationId);
      }
      const result: Record<string, BatchCheckResult> = {};
      await forEachLimited(checks, limits.concurrency, async (c) => {
        try {
          result[c.correlationId] = await checkOne(storeId, ts, { ...request, ...c });
        } catch (err) {
          if (!(err instanceof Error) || !('code' in err) || (err as { status?: number }).status === 500)
            throw err;
          const code = String((err as { code: string }).code);
          const spec = (authzErrors.catalog as Record<string, { openfga: string }>)[code];
          result[c.correlationId] = {
            error: { code, openfga: spec?.openfga ?? 'internal_error', message: err.message },
          };
        }
        return true;
      });
      return { result };
    },

    async expand(storeId, request) {
      const ts = await typeSystem(storeId, request?.authorizationModelId);
      const key = request?.tupleKey as { object?: unknown; relation?: unknown } | undefined;
      if (!key || typeof key.object !== 'string' || !isValidObject(key.object)) {
        throw validation(`invalid object '${String(key?.object)}'`);
      }
      const { type } = splitObject(key.object);
      typeAndRelation(ts, type, key.relation);
      const contextual = contextualTuples(ts, request.contextualTuples, limits);
      const e = await env(storeId, ts, request, contextual);
      return { tree: { root: await expand(ts, e.reader, key.object, key.relation as string) } };
    },

    async listObjects(storeId, request) {
      const ts = await typeSystem(storeId, request?.authorizationModelId);
      const contextual = contextualTuples(ts, request.contextualTuples, limits);
      typeAndRelation(ts, request.type, request.relation);
      const problem = typeof request.user === 'string' ? userProblem(ts, request.user) : undefined;
      if (typeof request.user !== 'string' || problem) {
        throw validation(`invalid 'user' value: ${problem?.message ?? 'missing'}`);
      }
      const e = await env(storeId, ts, request, contextual);
      const objects = await listObjects(
        e,
        request.type,
        request.relation,
        request.user,
        limits.listObjectsMaxResults,
        limits.concurrency,
      );
      return { objects };
    },

    async listUsers(storeId, request) {
      const ts = await typeSystem(storeId, request?.authorizationModelId);
      const contextual = contextualTuples(ts, request.contextualTuples, limits);
      const filters = request.userFilters;
      if (!Array.isArray(filters) || filters.length !== 1)
        throw validation('user_filters must hold exactly one filter');
      for (const f of filters) {
        if (!f || typeof f.type !== 'string' || !ts.hasType(f.type)) {
          throw authzErrors.create('AUTHZ_TYPE_NOT_FOUND', `type '${String(f?.type)}' not found`);
        }
        if (f.relation !== undefined && f.relation !== '' && !ts.relation(f.type, f.relation)) {
          throw authzErrors.create(
            'AUTHZ_RELATION_NOT_FOUND',
            `relation '${f.type}#${f.relation}' not found`,
          );
        }
      }
      const object = request.object;
      typeAndRelation(ts, object?.type, request.relation);
      const objectString = `${object.type}:${object.id}`;
      if (typeof object.id !== 'string' || !isValidObject(objectString) || object.id === '*') {
        throw validation(`invalid object '${objectString}'`);
      }
      const e = await env(storeId, ts, request, contextual);
      const users = await listUsers(
        e,
        objectString,
        request.relation,
        { type: filters[0]!.type, relation: filters[0]!.relation || undefined },
        limits.listUsersMaxResults,
        limits.concurrency,
      );
      return { users };
    },
  };
}
