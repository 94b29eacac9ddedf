import { Pool } from 'undici';
import { sdkError } from '../errors.ts';
import type { ServiceClient, TokenOptions } from '../service-client.ts';

/** A relationship in OpenFGA's notation: `document:1`, `viewer`, `user:anne` / `group:eng#member`. */
export interface PermissionTuple {
  object: string;
  relation: string;
  user: string;
  condition?: { name: string; context?: Record<string, unknown> } | undefined;
}

export interface PermissionQuery {
  context?: Record<string, unknown> | undefined;
  contextualTuples?: PermissionTuple[] | undefined;
  consistencyToken?: string | undefined;
}

export type BackendBatchResult = { allowed: boolean } | { error: { code?: string; message: string } };

/**
 * What a permission client asks of the engine: the OpenFGA API's calls in the engine's own shapes.
 * The permission engine (`createAuthz` of `@gatehouse/authz`) has exactly these methods, so a process
 * that holds the engine passes it as is; `createHttpPermissionBackend` asks the authz service.
 * Errors with an HTTP `status` below 500 mean the question was refused; anything else, that no
 * answer could be had.
 */
export interface PermissionBackend {
  /** `trace.traceparent`: the caller's span, sent on so the engine's span joins its trace. */
  check(
    storeId: string,
    request: PermissionQuery & { tupleKey: { object: string; relation: string; user: string } },
    trace?: { traceparent: string },
  ): Promise<{ allowed: boolean }>;
  batchCheck(
    storeId: string,
    request: {
      consistencyToken?: string | undefined;
      checks: {
        tupleKey: { object: string; relation: string; user: string };
        context?: Record<string, unknown> | undefined;
        contextualTuples?: PermissionTuple[] | undefined;
        correlationId: string;
      }[];
    },
  ): Promise<{ result: Record<string, BackendBatchResult> }>;
  listObjects(
    storeId: string,
    request: PermissionQuery & { type: string; relation: string; user: string },
  ): Promise<{ objects: string[] }>;
  readChanges(
    storeId: string,
    request: { continuationToken?: string; startTime?: Date; pageSize?: number },
  ): Promise<{ changes: { operation: string }[]; continuationToken: string }>;
  readAuthorizationModels(
    storeId: string,
    request: { pageSize?: number },
  ): Promise<{ authorizationModels: { id: string }[] }>;
  listStores(request: { name?: string; pageSize?: number }): Promise<{ stores: { id: string }[] }>;
}

export interface HttpPermissionBackendOptions {
  /** The authz service's OpenFGA API, e.g. `http://authz:8081` (the `/stores/...` paths go under it). */
  url: string;
  /** Gets the service token sent as `Authorization: Bearer`; without it calls carry no token. */
  serviceClient?: ServiceClient | undefined;
  /** Audience and scope of that token. */
  token?: TokenOptions | undefined;
  /** Per call. Default 1000. */
  timeoutMs?: number | undefined;
  /** Keep-alive connections to the service. Default 16. */
  connections?: number | undefined;
}

export interface HttpPermissionBackend extends PermissionBackend {
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

/** Answers larger than this are refused: a permission answer is small, a huge one is not the engine's. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** The authz service over HTTP (OpenFGA's paths and bodies), on a keep-alive undici pool. */
export function createHttpPermissionBackend(options: HttpPermissionBackendOptions): HttpPermissionBackend {
  const base = new URL(options.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError('the permission service url must be http or https');
  }
  const prefix = base.pathname.replace(/\/$/, '');
  const timeoutMs = options.timeoutMs ?? 1000;
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 16,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body?: Json,
    trace?: { traceparent: string },
  ): Promise<Json> {
    let status: number;
    let answer: unknown;
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.serviceClient) {
        headers.authorization = `Bearer ${await options.serviceClient.getToken(options.token)}`;
      }
      if (body) headers['content-type'] = 'application/json';
      if (trace) headers.traceparent = trace.traceparent;
      const res = await pool.request({
        method,
        path: `${prefix}${path}`,
        headers,
        body: body ? JSON.stringify(body) : null,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.statusCode;
      const length = Number(res.headers['content-length'] ?? 0);
      if (length > MAX_ANSWER_BYTES) {
        await res.body.dump();
        throw new Error('the answer is too large');
      }
      const text = await res.body.text();
      answer = text === '' ? {} : JSON.parse(text);
    } catch (err) {
      throw sdkError('SDK_PERMISSION_UNAVAILABLE', undefined, { cause: err });
    }
    const json = (answer && typeof answer === 'object' ? answer : {}) as Json;
    if (status === 200) return json;
    // A refusal of our own credentials is an outage of the check, not an answer about the caller.
    if (status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 429) {
      throw sdkError(
        'SDK_PERMISSION_QUERY_INVALID',
        `${String(json.code ?? status)}: ${String(json.message ?? 'refused')}`,
      );
    }
    throw sdkError('SDK_PERMISSION_UNAVAILABLE', `the permission service answered ${status}`);
  }

  const store = (id: string) => `/stores/${encodeURIComponent(id)}`;
  const queryFields = (q: PermissionQuery): Json => ({
    ...(q.context ? { context: q.context } : {}),
    ...(q.contextualTuples ? { contextual_tuples: { tuple_keys: q.contextualTuples } } : {}),
    ...(q.consistencyToken ? { consistency_token: q.consistencyToken } : {}),
  });

  return {
    async check(storeId, request, trace) {
      const out = await call(
        'POST',
        `${store(storeId)}/check`,
        { tuple_key: request.tupleKey, ...queryFields(request) },
        trace,
      );
      if (typeof out.allowed !== 'boolean') throw sdkError('SDK_PERMISSION_UNAVAILABLE', 'no decision');
      return { allowed: out.allowed };
    },

    async batchCheck(storeId, request) {
      const out = await call('POST', `${store(storeId)}/batch-check`, {
        ...(request.consistencyToken ? { consistency_token: request.consistencyToken } : {}),
        checks: request.checks.map((c) => ({
          tuple_key: c.tupleKey,
          correlation_id: c.correlationId,
          ...queryFields(c),
        })),
      });
      const result: Record<string, BackendBatchResult> = {};
      const raw = (out.result ?? {}) as Record<string, Json>;
      for (const c of request.checks) {
        const r = raw[c.correlationId];
        if (r && typeof r.allowed === 'boolean' && !r.error) result[c.correlationId] = { allowed: r.allowed };
        else {
          const e = (r?.error ?? {}) as Json;
          result[c.correlationId] = {
            error: {
              code: String(e.input_error ?? e.internal_error ?? 'unknown'),
              message: String(e.message),
            },
          };
        }
      }
      return { result };
    },

    async listObjects(storeId, request) {
      const out = await call('POST', `${store(storeId)}/list-objects`, {
        type: request.type,
        relation: request.relation,
        user: request.user,
        ...queryFields(request),
      });
      if (!Array.isArray(out.objects) || !out.objects.every((o) => typeof o === 'string')) {
        throw sdkError('SDK_PERMISSION_UNAVAILABLE', 'no object list');
      }
      return { objects: out.objects as string[] };
    },

    async readChanges(storeId, request) {
      const q = new URLSearchParams();
      if (request.continuationToken) q.set('continuation_token', request.continuationToken);
      if (request.startTime) q.set('start_time', request.startTime.toISOString());
      if (request.pageSize) q.set('page_size', String(request.pageSize));
      const out = await call('GET', `${store(storeId)}/changes?${q}`);
      if (!Array.isArray(out.changes) || typeof out.continuation_token !== 'string') {
        throw sdkError('SDK_PERMISSION_UNAVAILABLE', 'no change page');
      }
      return {
        changes: (out.changes as Json[]).map((c) => ({ operation: String(c.operation) })),
        continuationToken: out.continuation_token,
      };
    },

    async readAuthorizationModels(storeId, request) {
      const q = request.pageSize ? `?page_size=${request.pageSize}` : '';
      const out = await call('GET', `${store(storeId)}/authorization-models${q}`);
      const models = Array.isArray(out.authorization_models) ? (out.authorization_models as Json[]) : [];
      return { authorizationModels: models.map((m) => ({ id: String(m.id) })) };
    },

    async listStores(request) {
      const q = new URLSearchParams();
      if (request.name) q.set('name', request.name);
      if (request.pageSize) q.set('page_size', String(request.pageSize));
      const out = await call('GET', `/stores?${q}`);
      const stores = Array.isArray(out.stores) ? (out.stores as Json[]) : [];
      return { stores: stores.map((s) => ({ id: String(s.id) })) };
    },

    close: () => pool.close(),
  };
}
