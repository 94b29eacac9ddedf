import { authzErrors } from './errors.ts';
import type { AuthzLimits } from './limits.ts';
import type { TypeSystem } from './model/type-system.ts';
import { keyProblem, type TupleKey, type TupleProblem, tupleString, writeProblem } from './tuple-key.ts';

/**
 * The engine's request fields, read as hostile input: each check names the field and answers with the
 * catalog code OpenFGA would (AUTHZ_VALIDATION for shape, AUTHZ_INVALID_TUPLE for a tuple the model
 * refuses, AUTHZ_TOO_MANY_TUPLES beyond a limit).
 */
export interface Page {
  pageSize?: number | undefined;
  continuationToken?: string | undefined;
}

export function validation(message: string): Error {
  return authzErrors.create('AUTHZ_VALIDATION', message);
}

export function pageSize(page: Page | undefined, limits: AuthzLimits): number {
  const size = page?.pageSize;
  if (size === undefined || size === null || (size as unknown) === 0) return limits.defaultPageSize;
  if (!Number.isInteger(size) || size < 1 || size > limits.maxPageSize) {
    throw validation(`page_size must be between 1 and ${limits.maxPageSize}`);
  }
  return size;
}

export function requireContext(context: unknown): Record<string, unknown> {
  if (context === undefined || context === null) return {};
  if (typeof context !== 'object' || Array.isArray(context)) throw validation('context must be an object');
  return context as Record<string, unknown>;
}

export function requireTupleKey(value: unknown, what: string): TupleKey {
  const t = value as Partial<TupleKey> | null;
  if (
    !t ||
    typeof t !== 'object' ||
    typeof t.object !== 'string' ||
    typeof t.relation !== 'string' ||
    typeof t.user !== 'string'
  ) {
    throw validation(`${what} must have string object, relation and user`);
  }
  const key: TupleKey = { object: t.object, relation: t.relation, user: t.user };
  if (t.condition !== undefined && t.condition !== null) {
    const c = t.condition as { name?: unknown; context?: unknown };
    if (typeof c !== 'object' || typeof c.name !== 'string')
      throw validation(`${what}: condition needs a name`);
    if (c.name !== '') {
      key.condition = { name: c.name };
      if (c.context !== undefined && c.context !== null) key.condition.context = requireContext(c.context);
    }
  }
  return key;
}

export function invalidTuple(key: TupleKey, problem: TupleProblem): Error {
  return authzErrors.create(
    'AUTHZ_INVALID_TUPLE',
    `Invalid tuple '${tupleString(key)}'. Reason: ${problem.message}`,
    {
      details: { tuple: tupleString(key) },
    },
  );
}

export function contextualTuples(ts: TypeSystem, list: unknown, limits: AuthzLimits): TupleKey[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw validation('contextual_tuples must be a list');
  if (list.length > limits.maxContextualTuples) {
    throw authzErrors.create(
      'AUTHZ_TOO_MANY_TUPLES',
      `a request may carry at most ${limits.maxContextualTuples} contextual tuples`,
    );
  }
  const keys = list.map((t, i) => requireTupleKey(t, `contextual_tuples[${i}]`));
  for (const key of keys) {
    const problem = writeProblem(ts, key);
    if (problem) throw invalidTuple(key, problem);
  }
  // The same tuple twice counts once, as in OpenFGA.
  const unique = new Map(keys.map((k) => [tupleString(k), k]));
  return [...unique.values()];
}

export function requireCheckKey(
  ts: TypeSystem,
  key: unknown,
): { object: string; relation: string; user: string } {
  const k = key as { object?: unknown; relation?: unknown; user?: unknown } | null;
  if (!k || typeof k.object !== 'string' || typeof k.relation !== 'string' || typeof k.user !== 'string') {
    throw validation('tuple_key must have string object, relation and user');
  }
  const tk = { object: k.object, relation: k.relation, user: k.user };
  const problem = keyProblem(ts, tk);
  if (problem) throw validation(`invalid relation: ${problem.message}`);
  return tk;
}
