import { coreErrors, GatehouseError, isHttpErrorLike } from '@gatehouse/core';
import { authzErrors, openfgaErrorOf } from '../errors.ts';
import type { TupleKey } from '../tuple-key.ts';

/**
 * Conversions between OpenFGA's HTTP JSON (snake_case fields, `{ tuple_keys: [...] }` wrappers, users
 * of ListUsers as objects) and the engine's calls. Only shapes change here; the engine validates.
 */
export type Json = Record<string, unknown>;

export function field(body: Json, name: string): unknown {
  return Object.hasOwn(body, name) ? body[name] : undefined;
}

/** `{ object, relation, user, condition: { name, context } }` as the engine's tuple key (unchecked). */
export function tupleKeyIn(value: unknown): TupleKey {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value as TupleKey;
  const v = value as Json;
  const key = { object: v['object'], relation: v['relation'], user: v['user'] } as TupleKey;
  if (v['condition'] !== undefined && v['condition'] !== null)
    key.condition = v['condition'] as TupleKey['condition'];
  return key;
}

/** `{ tuple_keys: [...] }` (Check, ListObjects, Expand, Write) or a bare list (ListUsers). */
export function tupleKeysIn(value: unknown): TupleKey[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = Array.isArray(value) ? value : (value as Json)['tuple_keys'];
  if (list === undefined || list === null) return [];
  return Array.isArray(list) ? list.map(tupleKeyIn) : (list as TupleKey[]);
}

export function tupleKeyOut(key: TupleKey): Json {
  return {
    object: key.object,
    relation: key.relation,
    user: key.user,
    ...(key.condition
      ? { condition: { name: key.condition.name, context: key.condition.context ?? {} } }
      : {}),
  };
}

/** A ListUsers answer entry: an object, a typed wildcard or a userset, as OpenFGA's `User` message. */
export function userOut(user: string): Json {
  const colon = user.indexOf(':');
  const type = user.slice(0, colon);
  const rest = user.slice(colon + 1);
  const hash = rest.lastIndexOf('#');
  if (hash >= 0) return { userset: { type, id: rest.slice(0, hash), relation: rest.slice(hash + 1) } };
  if (rest === '*') return { wildcard: { type } };
  return { object: { type, id: rest } };
}

export function storeOut(s: { id: string; name: string; createdAt: Date; updatedAt: Date }): Json {
  return {
    id: s.id,
    name: s.name,
    created_at: s.createdAt.toISOString(),
    updated_at: s.updatedAt.toISOString(),
  };
}

/** OpenFGA's `consistency` field: accepted when it names one of its preferences. */
export const consistencyPreferences = new Set(['UNSPECIFIED', 'MINIMIZE_LATENCY', 'HIGHER_CONSISTENCY']);

/** The options every query shares: model, consistency and condition context. */
export function queryOptions(body: Json) {
  const consistency = field(body, 'consistency');
  if (consistency !== undefined && !consistencyPreferences.has(consistency as string)) {
    throw authzErrors.create('AUTHZ_VALIDATION', `invalid consistency preference '${String(consistency)}'`);
  }
  return {
    authorizationModelId: field(body, 'authorization_model_id') as string | undefined,
    consistencyToken: field(body, 'consistency_token') as string | undefined,
    context: field(body, 'context') as Record<string, unknown> | undefined,
  };
}

/** `page_size` and `continuation_token`, from the body (POST) or the query string (GET). */
export function pageOf(source: { get(name: string): unknown }) {
  const size = source.get('page_size');
  const pageSize = size === undefined || size === null || size === '' ? undefined : Number(size);
  const token = source.get('continuation_token');
  return { pageSize, continuationToken: typeof token === 'string' ? token : undefined };
}

export const bodyGetter = (body: Json) => ({ get: (name: string) => field(body, name) });
export const queryGetter = (q: URLSearchParams) => ({ get: (name: string) => q.get(name) ?? undefined });

/** An error as OpenFGA answers it: its status and `{ code: <openfga error name>, message }`. */
export function errorAnswer(err: unknown): [number, { code: string; message: string }] {
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
