import type { IncomingMessage, ServerResponse } from 'node:http';
import { coreErrors, GatehouseError, isHttpErrorLike, type Logger, readBody } from '@gatehouse/core';
import type { Authz } from '../authz.ts';
import { authzErrors, openfgaErrorOf } from '../errors.ts';
import { modelToDsl } from '../model/model-dsl.ts';
import {
  consistencyPreferences,
  field,
  type Json,
  storeOut,
  tupleKeyIn,
  tupleKeyOut,
  tupleKeysIn,
  userOut,
} from './openfga-wire.ts';

/**
 * The OpenFGA HTTP API over the engine: the same paths, bodies and error answers as OpenFGA's, so its
 * official SDKs and CLI work unchanged. Errors answer `{ "code": "<openfga error name>", "message" }`
 * with OpenFGA's status (400 for input, 404 for a missing store or path, 500 otherwise).
 *
 * The handler does not authenticate: the process that serves it puts its caller check in `authorize`
 * (read for queries, write for stores, models and tuples), which throws to refuse.
 * Gatehouse additions: a write answers `{ "consistency_token" }`, and every query accepts
 * `consistency_token` to be answered at least as fresh as that write.
 */
export interface OpenfgaApiOptions {
  authz: Authz;
  logger?: Logger | undefined;
  authorize?: ((req: IncomingMessage, access: 'read' | 'write') => Promise<void> | void) | undefined;
  /** Largest request body, in bytes (a model or a write of 100 tuples fits well within the default). */
  bodyLimit?: number | undefined;
  /** Told of every answered request (the service's audit trail); not called for unknown paths. */
  onOutcome?: ((req: IncomingMessage, outcome: OpenfgaOutcome) => void) | undefined;
}

export interface OpenfgaOutcome {
  /** `check`, `write`, `list-objects`, `stores`, `store`, `authorization-models`, ... (the path's last word). */
  operation: string;
  access: 'read' | 'write';
  storeId: string | undefined;
  body: Json;
  status: number;
  /** The JSON answered on success. */
  answer?: unknown;
  /** The error answered otherwise. */
  error?: { code: string; message: string };
}

/** The status and JSON body to answer, or `ndjson` lines (StreamedListObjects). */
type Answer = [number, unknown] | [number, string[], 'ndjson'];

type Handler = (ctx: {
  storeId: string;
  modelId: string;
  body: Json;
  query: URLSearchParams;
}) => Promise<Answer>;

interface Route {
  method: string;
  pattern: RegExp;
  access: 'read' | 'write';
  handle: Handler;
}

export function createOpenfgaHandler(
  options: OpenfgaApiOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { authz } = options;
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;

  const query = (body: Json) => {
    const consistency = field(body, 'consistency');
    if (consistency !== undefined && !consistencyPreferences.has(consistency as string)) {
      throw authzErrors.create('AUTHZ_VALIDATION', `invalid consistency preference '${String(consistency)}'`);
    }
    return {
      authorizationModelId: field(body, 'authorization_model_id') as string | undefined,
      consistencyToken: field(body, 'consistency_token') as string | undefined,
      context: field(body, 'context') as Record<string, unknown> | undefined,
    };
  };
  const pageOf = (source: { get(name: string): unknown }) => {
    const size = source.get('page_size');
    const pageSize = size === undefined || size === null || size === '' ? undefined : Number(size);
    const token = source.get('continuation_token');
    return { pageSize, continuationToken: typeof token === 'string' ? token : undefined };
  };
  const bodyGetter = (body: Json) => ({ get: (name: string) => field(body, name) });
  const queryGetter = (q: URLSearchParams) => ({ get: (name: string) => q.get(name) ?? undefined });

  // One row per endpoint: method, path, the access it needs, what it does.
  const routes: Route[] = [
    {
      method: 'POST',
      pattern: /^\/stores$/,
      access: 'write',
      handle: async ({ body }) => [
        201,
        storeOut(await authz.createStore({ name: field(body, 'name') as string })),
      ],
    },
    {
      method: 'GET',
      pattern: /^\/stores$/,
      access: 'read',
      handle: async ({ query: q }) => {
        const name = q.get('name') ?? undefined;
        const { stores, continuationToken } = await authz.listStores({ ...pageOf(queryGetter(q)), name });
        return [200, { stores: stores.map(storeOut), continuation_token: continuationToken }];
      },
    },
    {
      method: 'GET',
      pattern: /^\/stores\/(?<store>[^/]+)$/,
      access: 'read',
      handle: async ({ storeId }) => [200, storeOut(await authz.getStore(storeId))],
    },
    {
      method: 'DELETE',
      pattern: /^\/stores\/(?<store>[^/]+)$/,
      access: 'write',
      handle: async ({ storeId }) => {
        await authz.deleteStore(storeId);
        return [204, undefined];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/authorization-models$/,
      access: 'write',
      handle: async ({ storeId, body }) => {
        // A Gatehouse extension: `{ "dsl": "model ..." }` writes the DSL text, and a problem in it is
        // answered with its line and column in that text (OpenFGA's body has no `dsl` member).
        const source = dslOf(body);
        const { authorizationModelId } = await authz.writeAuthorizationModel(
          storeId,
          source !== undefined ? { dsl: source } : { json: body },
        );
        return [201, { authorization_model_id: authorizationModelId }];
      },
    },
    {
      method: 'GET',
      pattern: /^\/stores\/(?<store>[^/]+)\/authorization-models$/,
      access: 'read',
      handle: async ({ storeId, query: q }) => {
        const page = await authz.readAuthorizationModels(storeId, pageOf(queryGetter(q)));
        return [
          200,
          { authorization_models: page.authorizationModels, continuation_token: page.continuationToken },
        ];
      },
    },
    {
      method: 'GET',
      pattern: /^\/stores\/(?<store>[^/]+)\/authorization-models\/(?<model>[^/]+)$/,
      access: 'read',
      handle: async ({ storeId, modelId, query: q }) => {
        const model = await authz.readAuthorizationModel(storeId, modelId);
        // A Gatehouse extension: `?format=dsl` adds the model as DSL text beside its JSON form.
        return [
          200,
          { authorization_model: model, ...(q.get('format') === 'dsl' ? { dsl: modelToDsl(model) } : {}) },
        ];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/write$/,
      access: 'write',
      handle: async ({ storeId, body }) => {
        const writes = field(body, 'writes') as Json | undefined;
        const deletes = field(body, 'deletes') as Json | undefined;
        const { consistencyToken } = await authz.write(storeId, {
          authorizationModelId: field(body, 'authorization_model_id') as string | undefined,
          writes: writes
            ? {
                tupleKeys: tupleKeysIn(writes) ?? [],
                onDuplicate: field(writes, 'on_duplicate') as 'error' | 'ignore' | undefined,
              }
            : undefined,
          deletes: deletes
            ? {
                tupleKeys: tupleKeysIn(deletes) ?? [],
                onMissing: field(deletes, 'on_missing') as 'error' | 'ignore' | undefined,
              }
            : undefined,
        });
        return [200, { consistency_token: consistencyToken }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/read$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const key = field(body, 'tuple_key') as Json | undefined;
        const page = await authz.read(storeId, {
          ...pageOf(bodyGetter(body)),
          tupleKey: key
            ? {
                object: field(key, 'object') as string | undefined,
                relation: field(key, 'relation') as string | undefined,
                user: field(key, 'user') as string | undefined,
              }
            : undefined,
        } as Parameters<Authz['read']>[1]);
        return [
          200,
          {
            tuples: page.tuples.map((t) => ({
              key: tupleKeyOut(t.key),
              timestamp: t.timestamp.toISOString(),
            })),
            continuation_token: page.continuationToken,
          },
        ];
      },
    },
    {
      method: 'GET',
      pattern: /^\/stores\/(?<store>[^/]+)\/changes$/,
      access: 'read',
      handle: async ({ storeId, query: q }) => {
        const start = q.get('start_time');
        const startTime = start ? new Date(start) : undefined;
        if (startTime && Number.isNaN(startTime.getTime())) {
          throw authzErrors.create('AUTHZ_VALIDATION', `invalid start_time '${start}'`);
        }
        const page = await authz.readChanges(storeId, {
          ...pageOf(queryGetter(q)),
          type: q.get('type') ?? undefined,
          startTime,
        });
        return [
          200,
          {
            changes: page.changes.map((c) => ({
              tuple_key: tupleKeyOut(c.tupleKey),
              operation: c.operation === 'write' ? 'TUPLE_OPERATION_WRITE' : 'TUPLE_OPERATION_DELETE',
              timestamp: c.timestamp.toISOString(),
            })),
            continuation_token: page.continuationToken,
          },
        ];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/check$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const { allowed } = await authz.check(storeId, {
          ...query(body),
          tupleKey: tupleKeyIn(field(body, 'tuple_key')),
          contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
        });
        return [200, { allowed, resolution: '' }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/batch-check$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const checks = field(body, 'checks');
        const { result } = await authz.batchCheck(storeId, {
          ...query(body),
          checks: (Array.isArray(checks) ? checks : []).map((c: Json) => ({
            tupleKey: tupleKeyIn(field(c, 'tuple_key')),
            contextualTuples: tupleKeysIn(field(c, 'contextual_tuples')),
            context: field(c, 'context') as Record<string, unknown> | undefined,
            correlationId: field(c, 'correlation_id') as string,
          })),
        });
        const out: Record<string, unknown> = {};
        for (const [id, r] of Object.entries(result)) {
          out[id] =
            'allowed' in r
              ? { allowed: r.allowed }
              : { error: { input_error: r.error.openfga, message: r.error.message } };
        }
        return [200, { result: out }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/expand$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const key = (field(body, 'tuple_key') ?? {}) as Json;
        const { tree } = await authz.expand(storeId, {
          ...query(body),
          tupleKey: { object: field(key, 'object') as string, relation: field(key, 'relation') as string },
          contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
        });
        return [200, { tree }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/list-objects$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const { objects } = await authz.listObjects(storeId, {
          ...query(body),
          type: field(body, 'type') as string,
          relation: field(body, 'relation') as string,
          user: field(body, 'user') as string,
          contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
        });
        return [200, { objects }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/streamed-list-objects$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        // The answer is computed first, so an error is still a plain error answer; then one line per object.
        const { objects } = await authz.listObjects(storeId, {
          ...query(body),
          type: field(body, 'type') as string,
          relation: field(body, 'relation') as string,
          user: field(body, 'user') as string,
          contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
        });
        return [200, objects.map((object) => JSON.stringify({ result: { object } })), 'ndjson'];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/list-users$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const object = (field(body, 'object') ?? {}) as Json;
        const filters = field(body, 'user_filters');
        const { users } = await authz.listUsers(storeId, {
          ...query(body),
          object: { type: field(object, 'type') as string, id: field(object, 'id') as string },
          relation: field(body, 'relation') as string,
          userFilters: (Array.isArray(filters) ? filters : []).map((f: Json) => ({
            type: field(f, 'type') as string,
            relation: field(f, 'relation') as string | undefined,
          })),
          contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
        });
        return [200, { users: users.map(userOut) }];
      },
    },
  ];

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://authz.invalid');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname;
    let route: Route | undefined;
    let groups: Record<string, string> = {};
    let body: Json = {};
    // The path's last word names the operation, except where that word is an id.
    const operation = () =>
      groups['model']
        ? 'authorization-model'
        : groups['store'] && /^\/stores\/[^/]+$/.test(path)
          ? 'store'
          : (path.split('/').at(-1) ?? '');
    try {
      const onPath = routes.filter((r) => r.pattern.test(path));
      if (onPath.length === 0) {
        return send(res, 404, { code: 'undefined_endpoint', message: `no endpoint at ${path}` });
      }
      route = onPath.find((r) => r.method === req.method);
      if (!route)
        return send(res, 405, { code: 'undefined_endpoint', message: `${req.method} is not allowed here` });
      groups = route.pattern.exec(path)?.groups ?? {};
      await options.authorize?.(req, route.access);
      if (req.method === 'POST') {
        const raw = await readBody(req, bodyLimit);
        if (raw.length > 0) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw.toString('utf8'));
          } catch {
            throw authzErrors.create('AUTHZ_VALIDATION', 'the body is not valid JSON');
          }
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
            throw authzErrors.create('AUTHZ_VALIDATION', 'the body must be a JSON object');
          }
          body = parsed as Json;
        }
      }
      const answer = await route.handle({
        storeId: pathSegment(groups['store']),
        modelId: pathSegment(groups['model']),
        body,
        query: url.searchParams,
      });
      if (answer[2] === 'ndjson') sendLines(res, answer[0], answer[1] as string[]);
      else send(res, answer[0], answer[1]);
      options.onOutcome?.(req, {
        operation: operation(),
        access: route.access,
        storeId: groups['store'],
        body,
        status: answer[0],
        answer: answer[1],
      });
    } catch (err) {
      const [status, answer] = errorAnswer(err);
      if (route) {
        options.onOutcome?.(req, {
          operation: operation(),
          access: route.access,
          storeId: groups['store'],
          body,
          status,
          error: answer,
        });
      }
      if (status >= 500) options.logger?.error({ err, path }, 'authz request failed');
      else
        options.logger?.info(
          { code: answer.code, status, path, message: answer.message },
          'authz request refused',
        );
      send(res, status, answer, isHttpErrorLike(err) ? err.headers : undefined);
    }
  };
}

/** The DSL text of a `{ "dsl": "..." }` model body, else undefined (OpenFGA's JSON form). */
function dslOf(body: Json): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  const dsl = (body as Record<string, unknown>)['dsl'];
  return keys.length === 1 && typeof dsl === 'string' ? dsl : undefined;
}

function pathSegment(raw: string | undefined): string {
  try {
    return decodeURIComponent(raw ?? '');
  } catch {
    throw authzErrors.create('AUTHZ_VALIDATION', 'the path is not valid percent-encoding');
  }
}

function errorAnswer(err: unknown): [number, { code: string; message: string }] {
  if (err instanceof GatehouseError) {
    const openfga = openfgaErrorOf(err);
    if (err.status >= 500)
      return [
        err.status,
        { code: openfga?.name ?? 'internal_error', message: err.publicMessage ?? 'Internal error' },
      ];
    return [
      err.status,
      {
        code:
          openfga?.name ??
          (err.status === 401 ? 'unauthenticated' : err.status === 403 ? 'forbidden' : 'validation_error'),
        message: err.message,
      },
    ];
  }
  if (isHttpErrorLike(err) && err.status < 500) {
    return [
      err.status,
      {
        code: err.status === 401 ? 'unauthenticated' : err.status === 403 ? 'forbidden' : 'validation_error',
        message: err.message,
      },
    ];
  }
  return [500, { code: 'internal_error', message: coreErrors.catalog.GH_INTERNAL.message }];
}

function sendLines(res: ServerResponse, status: number, lines: string[]): void {
  const text = lines.map((l) => `${l}\n`).join('');
  res.writeHead(status, {
    'content-type': 'application/x-ndjson',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
