import { isSdkError, type SdkError, sdkError } from '../errors.ts';
import type { ServiceClient, TokenOptions } from '../service-client.ts';
import { createChangeWatcher } from './change-watcher.ts';
import { createDecisionCache, type DecisionCache } from './decision-cache.ts';
import {
  type BackendBatchResult,
  createHttpPermissionBackend,
  type PermissionBackend,
  type PermissionQuery,
} from './permission-backend.ts';

export interface PermissionClientOptions {
  /** The store, by id (a ULID) or by name (looked up once). */
  store: string;
  /** The authz service's OpenFGA API (`http://authz:8081`). Give this or `backend`. */
  url?: string | undefined;
  /** Service tokens for the authz service (`url` only). */
  serviceClient?: ServiceClient | undefined;
  token?: TokenOptions | undefined;
  timeoutMs?: number | undefined;
  /** The engine itself, in a process that holds it (the gateway with a configured store). */
  backend?: PermissionBackend | undefined;
  /** Decision cache; `false` asks the engine every time. */
  cache?: false | { maxEntries?: number | undefined; ttlMs?: number | undefined } | undefined;
  /** How the change feed is followed (see change-watcher.ts). */
  watch?: { intervalMs?: number | undefined; staleAfterMs?: number | undefined } | undefined;
  /** Where feed errors are reported (pino-compatible). */
  logger?: { warn(fields: Record<string, unknown>, message: string): void } | undefined;
}

export interface PermissionCheck extends PermissionQuery {
  user: string;
  relation: string;
  object: string;
  /** The caller's trace: sent on to the permission service when it is asked (not to the cache). */
  traceparent?: string | undefined;
}

export type BatchCheckOutcome =
  | { allowed: boolean }
  | { allowed: false; error: { code: string; message: string } };

export interface PermissionClient {
  /**
   * Whether `user` holds `relation` on `object`. Throws SDK_PERMISSION_UNAVAILABLE (503) when the
   * engine cannot answer, SDK_PERMISSION_QUERY_INVALID (400) when it refuses the question.
   */
  check(q: PermissionCheck): Promise<boolean>;
  /** Many checks, answered in order; a check the engine refuses is `allowed: false` with its error. */
  batchCheck(checks: PermissionCheck[]): Promise<BatchCheckOutcome[]>;
  /** The objects of `type` on which `user` holds `relation` (never cached). */
  listObjects(q: PermissionQuery & { user: string; relation: string; type: string }): Promise<string[]>;
  /** Resolves after the change feed was next read: every earlier write is then reflected. */
  synced(): Promise<void>;
  close(): Promise<void>;
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const BATCH = 50;

/**
 * Permission checks for a service, against one store, with a local decision cache kept correct by
 * the store's change feed. Checks that carry a consistency token, a context or contextual tuples
 * are never answered from the cache: the first must be as fresh as a write the cache may not have
 * seen yet, the others depend on the request.
 */
export function createPermissionClient(options: PermissionClientOptions): PermissionClient {
  if (typeof options.store !== 'string' || options.store === '') throw new TypeError('store is required');
  if (!options.backend === !options.url) throw new TypeError('give either url or backend');
  const http = options.url
    ? createHttpPermissionBackend({
        url: options.url,
        serviceClient: options.serviceClient,
        token: options.token,
        timeoutMs: options.timeoutMs,
      })
    : undefined;
  const backend: PermissionBackend = http ?? (options.backend as PermissionBackend);

  let storeId: Promise<string> | undefined;
  const resolveStore = (): Promise<string> => {
    if (!storeId) {
      storeId = ULID.test(options.store)
        ? Promise.resolve(options.store)
        : backend.listStores({ name: options.store, pageSize: 2 }).then(({ stores }) => {
            if (stores.length !== 1) {
              throw sdkError(
                'SDK_PERMISSION_QUERY_INVALID',
                `${stores.length === 0 ? 'no' : 'more than one'} store is named '${options.store}'`,
              );
            }
            return stores[0]!.id;
          });
      storeId.catch(() => {
        storeId = undefined;
      });
    }
    return storeId;
  };

  let cache: DecisionCache | undefined;
  let watcher: ReturnType<typeof createChangeWatcher> | undefined;
  if (options.cache !== false) {
    watcher = createChangeWatcher({
      backend,
      storeId: resolveStore,
      onChange: () => cache?.invalidate(),
      intervalMs: options.watch?.intervalMs,
      staleAfterMs: options.watch?.staleAfterMs,
      onError: (err) =>
        options.logger?.warn({ err: (err as Error).message }, 'permission change feed unread'),
    });
    const w = watcher;
    cache = createDecisionCache({ ...options.cache, fresh: () => w.inStep() });
  }

  const cacheable = (q: PermissionCheck) =>
    cache !== undefined && !q.consistencyToken && !q.context && !q.contextualTuples?.length;
  const keyOf = (q: PermissionCheck) => `${q.user}\u0000${q.relation}\u0000${q.object}`;
  const tupleKey = (q: PermissionCheck) => ({ object: q.object, relation: q.relation, user: q.user });

  return {
    async check(q) {
      const useCache = cacheable(q);
      const key = useCache ? keyOf(q) : '';
      if (useCache) {
        const hit = cache!.get(key);
        if (hit !== undefined) return hit;
      }
      const epoch = cache?.epoch() ?? 0;
      try {
        const { allowed } = await backend.check(
          await resolveStore(),
          {
            tupleKey: tupleKey(q),
            context: q.context,
            contextualTuples: q.contextualTuples,
            consistencyToken: q.consistencyToken,
          },
          q.traceparent ? { traceparent: q.traceparent } : undefined,
        );
        if (useCache) cache!.set(key, allowed, epoch);
        return allowed;
      } catch (err) {
        throw permissionError(err);
      }
    },

    async batchCheck(checks) {
      const out: BatchCheckOutcome[] = new Array(checks.length);
      const ask: number[] = [];
      checks.forEach((q, i) => {
        const hit = cacheable(q) ? cache!.get(keyOf(q)) : undefined;
        if (hit === undefined) ask.push(i);
        else out[i] = { allowed: hit };
      });
      const epoch = cache?.epoch() ?? 0;
      try {
        const id = await resolveStore();
        for (let start = 0; start < ask.length; start += BATCH) {
          const part = ask.slice(start, start + BATCH);
          // One consistency token for the whole batch, as the API takes it: the freshest asked for wins.
          const token = part.map((i) => checks[i]!.consistencyToken).find((t) => t);
          const { result } = await backend.batchCheck(id, {
            ...(token ? { consistencyToken: token } : {}),
            checks: part.map((i) => ({
              tupleKey: tupleKey(checks[i]!),
              context: checks[i]!.context,
              contextualTuples: checks[i]!.contextualTuples,
              correlationId: String(i),
            })),
          });
          for (const i of part) {
            const r: BackendBatchResult | undefined = result[String(i)];
            if (r && 'allowed' in r) {
              out[i] = { allowed: r.allowed };
              if (cacheable(checks[i]!)) cache!.set(keyOf(checks[i]!), r.allowed, epoch);
            } else {
              out[i] = {
                allowed: false,
                error: { code: r?.error.code ?? 'unknown', message: r?.error.message ?? 'no answer' },
              };
            }
          }
        }
      } catch (err) {
        throw permissionError(err);
      }
      return out;
    },

    async listObjects(q) {
      try {
        const { objects } = await backend.listObjects(await resolveStore(), {
          type: q.type,
          relation: q.relation,
          user: q.user,
          context: q.context,
          contextualTuples: q.contextualTuples,
          consistencyToken: q.consistencyToken,
        });
        return objects;
      } catch (err) {
        throw permissionError(err);
      }
    },

    synced: () => (watcher ? watcher.nextPoll() : Promise.resolve()),

    async close() {
      watcher?.stop();
      await http?.close();
    },
  };
}

/** The engine's refusals (status below 500) as SDK_PERMISSION_QUERY_INVALID; anything else: unavailable. */
function permissionError(err: unknown): SdkError {
  if (isSdkError(err)) return err;
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = (err as { code?: unknown }).code;
    return sdkError('SDK_PERMISSION_QUERY_INVALID', `${String(code)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return sdkError('SDK_PERMISSION_UNAVAILABLE', undefined, { cause: err });
}
