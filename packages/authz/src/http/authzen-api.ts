import type { IncomingMessage, ServerResponse } from 'node:http';
import { type GatehouseError, isHttpErrorLike, type Logger, readBody, sendError } from '@gatehouse/core';
import type { Authz } from '../authz.ts';
import { authzErrors } from '../errors.ts';
import { actionIn, contextIn, type Entity, entityIn, entityOut, entityString } from './authzen-mapping.ts';
import type { Json } from './openfga-wire.ts';

/**
 * The OpenID AuthZEN Authorization API 1.0 over the engine: evaluation, evaluations (batch), the
 * subject, resource and action searches, and the PDP metadata. See authzen-mapping.ts for how subjects,
 * resources and actions become users, objects and relations. Errors answer `{ error, message }` with
 * the engine's stable codes.
 */
export interface AuthzenApiOptions {
  authz: Authz;
  /** The PDP's base URL as callers reach it (metadata and endpoint URLs are built from it). */
  baseUrl: string | (() => string);
  defaultStoreId?: string | undefined;
  /** Throws to refuse (every endpoint but the metadata needs read access). */
  authorize?: ((req: IncomingMessage, access: 'read') => Promise<unknown>) | undefined;
  onOutcome?: ((req: IncomingMessage, outcome: AuthzenOutcome) => void) | undefined;
  logger?: Logger | undefined;
  bodyLimit?: number | undefined;
}

export interface AuthzenOutcome {
  operation: string;
  storeId: string | undefined;
  body: Json;
  status: number;
  answer?: unknown;
  error?: { code: string; message: string };
}

export const authzenPaths = {
  metadata: '/.well-known/authzen-configuration',
  evaluation: '/access/v1/evaluation',
  evaluations: '/access/v1/evaluations',
  subjectSearch: '/access/v1/search/subject',
  resourceSearch: '/access/v1/search/resource',
  actionSearch: '/access/v1/search/action',
} as const;

const semantics = new Set(['execute_all', 'deny_on_first_deny', 'permit_on_first_permit']);

export function isAuthzenPath(path: string): boolean {
  return path === authzenPaths.metadata || path.startsWith('/access/');
}

export function createAuthzenHandler(
  options: AuthzenApiOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { authz } = options;
  const baseOf = () =>
    (typeof options.baseUrl === 'function' ? options.baseUrl() : options.baseUrl).replace(/\/$/, '');
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const invalid = (message: string) => authzErrors.create('AUTHZ_VALIDATION', message);

  async function evaluate(body: Json): Promise<{ storeId: string; decision: boolean }> {
    const subject = entityIn(body['subject'], 'subject');
    const resource = entityIn(body['resource'], 'resource');
    const relation = actionIn(body['action']);
    const { storeId, context } = contextIn(body['context'], options.defaultStoreId);
    const { allowed } = await authz.check(storeId, {
      tupleKey: { user: entityString(subject), relation, object: entityString(resource) },
      context,
    });
    return { storeId, decision: allowed };
  }

  /** Offset paging over a complete answer: `page.token` is where the previous page stopped. */
  function paged<T>(all: T[], page: unknown): { results: T[]; page: { next_token: string } } {
    if (page !== undefined && (page === null || typeof page !== 'object' || Array.isArray(page))) {
      throw invalid('page must be an object');
    }
    const p = (page ?? {}) as Json;
    const limit = p['limit'] === undefined ? authz.limits.maxPageSize : p['limit'];
    if (
      !Number.isSafeInteger(limit) ||
      (limit as number) < 1 ||
      (limit as number) > authz.limits.maxPageSize
    ) {
      throw invalid(`page.limit must be a whole number from 1 to ${authz.limits.maxPageSize}`);
    }
    let offset = 0;
    if (p['token'] !== undefined && p['token'] !== '') {
      offset = typeof p['token'] === 'string' && /^\d{1,9}$/.test(p['token']) ? Number(p['token']) : -1;
      if (offset < 0 || offset > all.length) throw invalid('page.token is invalid');
    }
    const end = offset + (limit as number);
    return { results: all.slice(offset, end), page: { next_token: end < all.length ? String(end) : '' } };
  }

  async function modelRelations(storeId: string, type: string): Promise<string[]> {
    const { authorizationModels } = await authz.readAuthorizationModels(storeId, { pageSize: 1 });
    const model = authorizationModels[0];
    if (!model) {
      throw authzErrors.create(
        'AUTHZ_LATEST_MODEL_NOT_FOUND',
        `store '${storeId}' has no authorization model`,
      );
    }
    const definition = model.type_definitions.find((t) => t.type === type);
    if (!definition) throw authzErrors.create('AUTHZ_TYPE_NOT_FOUND', `type '${type}' is not in the model`);
    return Object.keys(definition.relations ?? {});
  }

  type Endpoint = (body: Json) => Promise<{ storeId?: string; answer: unknown }>;
  const endpoints: Record<string, Endpoint> = {
    [authzenPaths.evaluation]: async (body) => {
      const { storeId, decision } = await evaluate(body);
      return { storeId, answer: { decision } };
    },
    [authzenPaths.evaluations]: async (body) => {
      const items = body['evaluations'];
      if (items !== undefined && !Array.isArray(items)) throw invalid('evaluations must be an array');
      // Without evaluations the request is a single evaluation, answered as one.
      if (!items || items.length === 0) {
        const { storeId, decision } = await evaluate(body);
        return { storeId, answer: { decision } };
      }
      if (items.length > authz.limits.maxChecksPerBatchCheck) {
        throw authzErrors.create(
          'AUTHZ_TOO_MANY_TUPLES',
          `at most ${authz.limits.maxChecksPerBatchCheck} evaluations per request`,
        );
      }
      const opts = body['options'];
      if (opts !== undefined && (opts === null || typeof opts !== 'object' || Array.isArray(opts))) {
        throw invalid('options must be an object');
      }
      const semantic = (opts as Json | undefined)?.['evaluations_semantic'] ?? 'execute_all';
      if (typeof semantic !== 'string' || !semantics.has(semantic)) {
        throw invalid(`options.evaluations_semantic must be one of ${[...semantics].join(', ')}`);
      }
      const evaluations: Json[] = [];
      let storeId: string | undefined;
      for (const item of items) {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) {
          throw invalid('each evaluation must be an object');
        }
        // Top-level subject, action, resource and context are defaults each evaluation may replace.
        const merged: Json = {
          subject: body['subject'],
          action: body['action'],
          resource: body['resource'],
          context: body['context'],
          ...(item as Json),
        };
        let result: Json;
        try {
          const r = await evaluate(merged);
          storeId ??= r.storeId;
          result = { decision: r.decision };
        } catch (err) {
          if (!isHttpErrorLike(err) || err.status >= 500) throw err;
          // One bad evaluation is a denial with its reason, not a failure of the whole batch.
          result = {
            decision: false,
            context: { error: { status: err.status, code: err.code, message: err.message } },
          };
        }
        evaluations.push(result);
        if (semantic === 'deny_on_first_deny' && result['decision'] === false) break;
        if (semantic === 'permit_on_first_permit' && result['decision'] === true) break;
      }
      return { storeId, answer: { evaluations } };
    },
    [authzenPaths.subjectSearch]: async (body) => {
      const subject = entityIn(body['subject'], 'subject', false);
      const resource = entityIn(body['resource'], 'resource');
      const relation = actionIn(body['action']);
      const { storeId, context } = contextIn(body['context'], options.defaultStoreId);
      const { users } = await authz.listUsers(storeId, {
        object: resource,
        relation,
        userFilters: [{ type: subject.type }],
        context,
      });
      // Only concrete subjects: a typed wildcard or a userset is not a subject AuthZEN can name.
      const found = users
        .filter((u) => !u.includes('#') && !u.endsWith(':*'))
        .sort()
        .map(entityOut);
      return { storeId, answer: paged<Entity>(found, body['page']) };
    },
    [authzenPaths.resourceSearch]: async (body) => {
      const subject = entityIn(body['subject'], 'subject');
      const resource = entityIn(body['resource'], 'resource', false);
      const relation = actionIn(body['action']);
      const { storeId, context } = contextIn(body['context'], options.defaultStoreId);
      const { objects } = await authz.listObjects(storeId, {
        type: resource.type,
        relation,
        user: entityString(subject),
        context,
      });
      return { storeId, answer: paged<Entity>([...objects].sort().map(entityOut), body['page']) };
    },
    [authzenPaths.actionSearch]: async (body) => {
      const subject = entityIn(body['subject'], 'subject');
      const resource = entityIn(body['resource'], 'resource');
      const { storeId, context } = contextIn(body['context'], options.defaultStoreId);
      const relations = await modelRelations(storeId, resource.type);
      const allowed: { name: string }[] = [];
      for (let i = 0; i < relations.length; i += authz.limits.maxChecksPerBatchCheck) {
        const chunk = relations.slice(i, i + authz.limits.maxChecksPerBatchCheck);
        const { result } = await authz.batchCheck(storeId, {
          checks: chunk.map((relation, n) => ({
            tupleKey: { user: entityString(subject), relation, object: entityString(resource) },
            context,
            correlationId: String(n),
          })),
        });
        chunk.forEach((name, n) => {
          const r = result[String(n)];
          if (r && 'allowed' in r && r.allowed) allowed.push({ name });
        });
      }
      return { storeId, answer: paged(allowed, body['page']) };
    },
  };

  function metadata(): Json {
    const base = baseOf();
    return {
      policy_decision_point: base,
      access_evaluation_endpoint: `${base}${authzenPaths.evaluation}`,
      access_evaluations_endpoint: `${base}${authzenPaths.evaluations}`,
      search_subject_endpoint: `${base}${authzenPaths.subjectSearch}`,
      search_resource_endpoint: `${base}${authzenPaths.resourceSearch}`,
      search_action_endpoint: `${base}${authzenPaths.actionSearch}`,
    };
  }

  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://authz.invalid').pathname.replace(/(.)\/$/, '$1');
    let body: Json = {};
    const endpoint = endpoints[path];
    const operation = `authzen.${path.split('/').at(-1)}`;
    try {
      if (path === authzenPaths.metadata) {
        if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed('GET');
        return send(res, 200, metadata());
      }
      if (!endpoint) throw authzErrors.create('AUTHZ_ENDPOINT_NOT_FOUND', `no AuthZEN endpoint at ${path}`);
      if (req.method !== 'POST') throw methodNotAllowed('POST');
      await options.authorize?.(req, 'read');
      body = await jsonBody(req, bodyLimit);
      const { storeId, answer } = await endpoint(body);
      send(res, 200, answer);
      options.onOutcome?.(req, { operation, storeId, body, status: 200, answer });
    } catch (err) {
      const e = err as GatehouseError;
      const status = isHttpErrorLike(err) ? err.status : 500;
      if (status >= 500) options.logger?.error({ err, path }, 'authzen request failed');
      if (endpoint) {
        options.onOutcome?.(req, {
          operation,
          storeId: undefined,
          body,
          status,
          error: {
            code: isHttpErrorLike(err) ? e.code : 'AUTHZ_INTERNAL',
            message: status >= 500 ? 'Internal error' : e.message,
          },
        });
      }
      sendError(
        res,
        isHttpErrorLike(err) ? err : authzErrors.create('AUTHZ_INTERNAL', undefined, { cause: err }),
      );
    }
  };
}

function methodNotAllowed(allow: string): GatehouseError {
  return authzErrors.create('AUTHZ_METHOD_NOT_ALLOWED', `use ${allow} here`, { headers: { allow } });
}

async function jsonBody(req: IncomingMessage, limit: number): Promise<Json> {
  const raw = await readBody(req, limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw authzErrors.create('AUTHZ_VALIDATION', 'the body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw authzErrors.create('AUTHZ_VALIDATION', 'the body must be a JSON object');
  }
  return parsed as Json;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}
