import type { TypeSystem } from './model/type-system.ts';

/**
 * Relationship tuples in OpenFGA's notation: `object` is `type:id`, `relation` a name, `user` one of
 * `type:id` (an object), `type:*` (every object of that type) or `type:id#relation` (a userset).
 * The format rules are OpenFGA's (pkg/tuple): no spaces or control characters, one `:` in an object,
 * one `#` before a userset's relation.
 */
export interface TupleKey {
  object: string;
  relation: string;
  user: string;
  condition?: TupleCondition | undefined;
}

export interface TupleCondition {
  name: string;
  context?: Record<string, unknown> | undefined;
}

export interface ParsedUser {
  type: string;
  id: string;
  /** '' for an object or a wildcard. */
  relation: string;
}

const maxKeyLength = 512;

const forbidden = /[\s\u0000-\u001f\u007f]/;

export function isValidObject(s: string): boolean {
  if (typeof s !== 'string' || s.length === 0 || s.length > maxKeyLength || forbidden.test(s)) return false;
  const colon = s.indexOf(':');
  return colon > 0 && colon < s.length - 1 && s.indexOf(':', colon + 1) < 0 && !s.includes('#');
}

export function isValidRelation(s: string): boolean {
  return typeof s === 'string' && s.length > 0 && s.length <= 50 && !/[#:@\s]/.test(s) && !forbidden.test(s);
}

export function isValidUserset(s: string): boolean {
  const hash = s.lastIndexOf('#');
  if (hash < 0) return false;
  const object = s.slice(0, hash);
  return isValidObject(object) && !object.endsWith(':*') && isValidRelation(s.slice(hash + 1));
}

/** The user's parts, or undefined when it is not an object, a typed wildcard or a userset. */
export function parseUser(user: string): ParsedUser | undefined {
  if (typeof user !== 'string' || user.length > maxKeyLength) return undefined;
  if (isValidObject(user)) {
    const colon = user.indexOf(':');
    return { type: user.slice(0, colon), id: user.slice(colon + 1), relation: '' };
  }
  if (isValidUserset(user)) {
    const hash = user.lastIndexOf('#');
    const colon = user.indexOf(':');
    return { type: user.slice(0, colon), id: user.slice(colon + 1, hash), relation: user.slice(hash + 1) };
  }
  return undefined;
}

export function splitObject(object: string): { type: string; id: string } {
  const colon = object.indexOf(':');
  return { type: object.slice(0, colon), id: object.slice(colon + 1) };
}

export function userString(u: ParsedUser): string {
  return u.relation ? `${u.type}:${u.id}#${u.relation}` : `${u.type}:${u.id}`;
}

export function tupleString(t: { object: string; relation: string; user: string }): string {
  return `${t.object}#${t.relation}@${t.user}`;
}

/** Why a tuple or request part does not fit the model; the caller picks the error code. */
export interface TupleProblem {
  kind: 'malformed' | 'type_not_found' | 'relation_not_found' | 'type_restriction' | 'condition';
  message: string;
}

/** OpenFGA's ValidateUser: the user's format, its type, and a userset's relation. */
export function userProblem(ts: TypeSystem, user: string): TupleProblem | undefined {
  const parsed = parseUser(user);
  if (!parsed) {
    return {
      kind: 'malformed',
      message: `the 'user' field must be an object (e.g. document:1), an 'object#relation' or a typed wildcard (e.g. group:*): '${user}'`,
    };
  }
  if (!ts.hasType(parsed.type)) return { kind: 'type_not_found', message: `type '${parsed.type}' not found` };
  if (parsed.relation && !ts.relation(parsed.type, parsed.relation)) {
    return {
      kind: 'relation_not_found',
      message: `relation '${parsed.type}#${parsed.relation}' not found`,
    };
  }
  return undefined;
}

/** OpenFGA's ValidateUserObjectRelation: user, then object, then relation. */
export function keyProblem(ts: TypeSystem, key: TupleKey): TupleProblem | undefined {
  const user = userProblem(ts, key.user);
  if (user) return user;
  if (!isValidObject(key.object)) {
    return { kind: 'malformed', message: `invalid 'object' field format: '${key.object}'` };
  }
  const { type, id } = splitObject(key.object);
  if (id === '*')
    return { kind: 'malformed', message: "the 'object' field cannot reference a typed wildcard" };
  if (!ts.hasType(type)) return { kind: 'type_not_found', message: `type '${type}' not found` };
  if (!isValidRelation(key.relation)) {
    return { kind: 'malformed', message: `the 'relation' field is malformed: '${key.relation}'` };
  }
  if (!ts.relation(type, key.relation)) {
    return { kind: 'relation_not_found', message: `relation '${type}#${key.relation}' not found` };
  }
  return undefined;
}

/**
 * What a tuple must satisfy to be written (and to count when read under a later model): a well-formed
 * key, a tupleset relation holding only plain objects, the relation's type restrictions, and the
 * restriction's condition (present when required, known, and with a context of declared parameters).
 */
export function writeProblem(ts: TypeSystem, key: TupleKey): TupleProblem | undefined {
  return keyProblem(ts, key) ?? readProblem(ts, key);
}

/** The model-dependent half of `writeProblem`, for tuples already stored. */
export function readProblem(ts: TypeSystem, key: TupleKey): TupleProblem | undefined {
  const { type } = splitObject(key.object);
  const user = parseUser(key.user);
  if (!user) return { kind: 'malformed', message: `invalid user '${key.user}'` };
  const info = ts.relation(type, key.relation);
  if (!info) return { kind: 'relation_not_found', message: `relation '${type}#${key.relation}' not found` };
  const wildcard = user.id === '*' && !user.relation;
  if (ts.isTupleset(type, key.relation)) {
    if (wildcard) {
      return {
        kind: 'type_restriction',
        message: `unexpected wildcard relationship with tupleset relation '${type}#${key.relation}'`,
      };
    }
    if (user.relation) {
      return {
        kind: 'type_restriction',
        message: `unexpected user '${key.user}' with tupleset relation '${type}#${key.relation}'`,
      };
    }
  }
  const matching = info.directTypes.filter((ref) =>
    user.relation
      ? ref.type === user.type && ref.relation === user.relation
      : wildcard
        ? ref.type === user.type && ref.wildcard !== undefined
        : ref.type === user.type && ref.wildcard === undefined && !ref.relation,
  );
  if (matching.length === 0) {
    const what = user.relation
      ? `'${user.type}#${user.relation}'`
      : wildcard
        ? `the typed wildcard '${key.user}'`
        : `type '${user.type}'`;
    return {
      kind: 'type_restriction',
      message: `${what} is not an allowed type restriction for '${type}#${key.relation}'`,
    };
  }
  const conditionName = key.condition?.name;
  if (!conditionName) {
    if (matching.some((ref) => !ref.condition)) return undefined;
    return { kind: 'condition', message: 'condition is missing' };
  }
  const condition = ts.conditions.get(conditionName);
  if (!condition) return { kind: 'condition', message: `undefined condition '${conditionName}'` };
  if (!matching.some((ref) => ref.condition === conditionName)) {
    return { kind: 'condition', message: `invalid condition '${conditionName}' for type restriction` };
  }
  const context = key.condition?.context;
  if (context !== undefined && context !== null) {
    if (typeof context !== 'object' || Array.isArray(context)) {
      return { kind: 'condition', message: 'the condition context must be an object' };
    }
    try {
      condition.checkContext(context);
    } catch (err) {
      return { kind: 'condition', message: (err as Error).message };
    }
  }
  return undefined;
}
