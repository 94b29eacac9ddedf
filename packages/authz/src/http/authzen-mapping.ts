import { authzErrors } from '../errors.ts';
import type { Json } from './openfga-wire.ts';

/**
 * How an AuthZEN request maps onto a store: subject `{type, id}` is the user `type:id`, resource
 * `{type, id}` the object `type:id`, action `name` the relation, and `context` the condition context.
 * The store is `context.store_id` when given (taken out of the condition context), else the service's
 * default store. `properties` are accepted and not used: relationships live in the store.
 */
export interface Entity {
  type: string;
  id: string;
}

const namePattern = /^[^\s:#]{1,254}$/u;
const idPattern = /^[^\s#]{1,254}$/u;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function invalid(message: string) {
  return authzErrors.create('AUTHZ_VALIDATION', message);
}

/** `{type, id}` of a subject or resource; `id` may be omitted where a search names only the type. */
export function entityIn(value: unknown, role: 'subject' | 'resource', needsId = true): Entity {
  if (!isObject(value)) throw invalid(`${role} must be an object with "type" and "id"`);
  const { type, id } = value;
  if (typeof type !== 'string' || !namePattern.test(type)) throw invalid(`${role}.type must be a type name`);
  if (needsId || id !== undefined) {
    if (typeof id !== 'string' || !idPattern.test(id)) throw invalid(`${role}.id must be a non-empty string`);
  }
  if (value['properties'] !== undefined && !isObject(value['properties'])) {
    throw invalid(`${role}.properties must be an object`);
  }
  return { type, id: typeof id === 'string' ? id : '' };
}

export function actionIn(value: unknown): string {
  if (!isObject(value)) throw invalid('action must be an object with "name"');
  const { name } = value;
  if (typeof name !== 'string' || !namePattern.test(name))
    throw invalid('action.name must be a relation name');
  return name;
}

/** The store to answer from and the condition context, from the request's `context`. */
export function contextIn(
  value: unknown,
  defaultStoreId: string | undefined,
): { storeId: string; context: Record<string, unknown> | undefined } {
  if (value !== undefined && !isObject(value)) throw invalid('context must be an object');
  const { store_id: named, ...rest } = (value ?? {}) as Json;
  if (named !== undefined && typeof named !== 'string') throw invalid('context.store_id must be a string');
  const storeId = (named as string | undefined) ?? defaultStoreId;
  if (!storeId) throw invalid('no store: set authz.defaultStoreId or send context.store_id');
  return { storeId, context: Object.keys(rest).length > 0 ? rest : undefined };
}

export const entityString = (e: Entity): string => `${e.type}:${e.id}`;

export function entityOut(value: string): Entity {
  const colon = value.indexOf(':');
  return { type: value.slice(0, colon), id: value.slice(colon + 1) };
}
