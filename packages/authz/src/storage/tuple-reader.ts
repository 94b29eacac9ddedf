import type { ParsedUser, TupleKey } from '../tuple-key.ts';
import { parseUser, splitObject } from '../tuple-key.ts';

/**
 * What the engine reads while it evaluates one request. Each method is one indexed statement on the
 * SQL storage; `withContextualTuples` layers a request's contextual tuples over it, and `memoized`
 * answers a repeated read inside one request without asking the database again.
 */
export interface TupleReader {
  /** Tuples of object#relation that can decide a check for `user`: the user itself, its type's wildcard, every userset. */
  readForCheck(objectType: string, objectId: string, relation: string, user: ParsedUser): Promise<TupleKey[]>;
  /** Every tuple of object#relation. */
  readRelation(objectType: string, objectId: string, relation: string): Promise<TupleKey[]>;
  /** Every tuple naming exactly this user (`user:anne`, `user:*`, `group:eng#member`): ListObjects walks up from them. */
  tuplesByUser(user: string): Promise<TupleKey[]>;
}

export function withContextualTuples(reader: TupleReader, contextual: readonly TupleKey[]): TupleReader {
  if (contextual.length === 0) return reader;
  const parsed = contextual.map((t) => ({ t, o: splitObject(t.object), u: parseUser(t.user)! }));
  // A contextual tuple replaces a stored one with the same key (it may carry another condition).
  const merge = (stored: TupleKey[], extra: TupleKey[]) => {
    if (extra.length === 0) return stored;
    const keys = new Set(extra.map((t) => `${t.object}#${t.relation}@${t.user}`));
    return [...extra, ...stored.filter((t) => !keys.has(`${t.object}#${t.relation}@${t.user}`))];
  };
  return {
    async readForCheck(objectType, objectId, relation, user) {
      const wildcard = `${user.type}:*`;
      const exact = user.relation ? `${user.type}:${user.id}#${user.relation}` : `${user.type}:${user.id}`;
      const extra = parsed
        .filter(
          ({ o, t, u }) =>
            o.type === objectType &&
            o.id === objectId &&
            t.relation === relation &&
            (t.user === exact || u.relation !== '' || (!user.relation && t.user === wildcard)),
        )
        .map(({ t }) => t);
      return merge(await reader.readForCheck(objectType, objectId, relation, user), extra);
    },
    async readRelation(objectType, objectId, relation) {
      const extra = parsed
        .filter(({ o, t }) => o.type === objectType && o.id === objectId && t.relation === relation)
        .map(({ t }) => t);
      return merge(await reader.readRelation(objectType, objectId, relation), extra);
    },
    async tuplesByUser(user) {
      return merge(
        await reader.tuplesByUser(user),
        parsed.filter(({ t }) => t.user === user).map(({ t }) => t),
      );
    },
  };
}

/** One request's reads, each asked once. */
export function memoized(reader: TupleReader): TupleReader {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    let hit = cache.get(key) as Promise<T> | undefined;
    if (!hit) {
      hit = load();
      cache.set(key, hit);
    }
    return hit;
  };
  return {
    readForCheck: (ot, oid, rel, user) =>
      once(`c\0${ot}\0${oid}\0${rel}\0${user.type}\0${user.id}\0${user.relation}`, () =>
        reader.readForCheck(ot, oid, rel, user),
      ),
    readRelation: (ot, oid, rel) => once(`r\0${ot}\0${oid}\0${rel}`, () => reader.readRelation(ot, oid, rel)),
    tuplesByUser: (user) => once(`b\0${user}`, () => reader.tuplesByUser(user)),
  };
}
