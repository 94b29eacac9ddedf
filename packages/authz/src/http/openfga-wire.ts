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
