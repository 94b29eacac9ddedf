import type { ParsedUser, TupleKey } from '../tuple-key.ts';
import { parseUser, splitObject } from '../tuple-key.ts';

/**
 * A chain of objects of one type, each leading to the next through `edge` tuples whose user is of the
 * same type: a folder's `parent: [folder]` (`edgeUserRelation` ''), a group's `member: [group#member]`
 * (`edgeUserRelation` 'member'). Reading it whole costs one statement, where walking it costs one per
 * object it passes.
 */
export interface ChainRequest {
  type: string;
  /** The object the chain starts from (it is part of the chain). */
  id: string;
  edge: string;
  edgeUserRelation: string;
  /** The check's user: the tuples of `direct` relations are read as `readForCheck` reads them for it. */
  user: ParsedUser;
  /** Relations whose tuples are read as `readForCheck` reads them. */
  direct: readonly string[];
  /** Relations whose tuples are read whole, as `readRelation` reads them (the tuplesets). */
  whole: readonly string[];
  /** Edges followed from the start at most. */
  maxSteps: number;
}

/** The objects a chain reached (their ids), and their tuples of the relations asked for. */
export interface ChainRead {
  ids: string[];
  tuples: TupleKey[];
}

/** Several relations of one object, read together. */
export interface ObjectRequest {
  type: string;
  id: string;
  /** Relations whose tuples are read as `readForCheck` reads them for `user`. */
  direct: readonly string[];
  /** Relations whose tuples are read whole, as `readRelation` reads them. */
  whole: readonly string[];
  /** Whose reads the `direct` relations are; absent only when there are none. */
  user: ParsedUser | undefined;
}

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
  /**
   * A chain's objects and their tuples (one recursive statement on the SQL storage). The memoized
   * reader answers the chain's later `readForCheck` and `readRelation` reads from it, so a check
   * walking a folder tree or nested groups waits for one round trip instead of one per level. A
   * reader without it is read object by object.
   */
  readChain?(request: ChainRequest): Promise<ChainRead>;
  /**
   * Several relations of one object in one statement. The memoized reader sends this way the reads of
   * one object asked in the same turn (a union's branches start together); a reader without it is
   * read relation by relation.
   */
  readObject?(request: ObjectRequest): Promise<TupleKey[]>;
}

/** Whether `readForCheck(…, user)` returns this tuple: the user itself, its type's wildcard, or a userset. */
export function concernsUser(tupleUser: string, user: ParsedUser): boolean {
  const u = parseUser(tupleUser);
  if (!u) return false;
  if (u.relation) return true;
  if (user.relation) return false;
  return u.type === user.type && (u.id === user.id || u.id === '*');
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
  // The contextual tuples `readForCheck` returns for `user`: the user itself, its type's wildcard, every userset.
  const forUser = (user: ParsedUser) => {
    const wildcard = `${user.type}:*`;
    const exact = user.relation ? `${user.type}:${user.id}#${user.relation}` : `${user.type}:${user.id}`;
    return ({ t, u }: (typeof parsed)[number]) =>
      t.user === exact || u.relation !== '' || (!user.relation && t.user === wildcard);
  };
  return {
    async readForCheck(objectType, objectId, relation, user) {
      const concerns = forUser(user);
      const extra = parsed
        .filter(
          (p) => p.o.type === objectType && p.o.id === objectId && p.t.relation === relation && concerns(p),
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
    ...(reader.readChain
      ? {
          async readChain(request: ChainRequest): Promise<ChainRead> {
            const read = await reader.readChain!(request);
            // The chain's objects' contextual tuples join theirs; a contextual edge that leads off the
            // stored chain is followed by the engine's ordinary reads.
            const ids = new Set(read.ids);
            const extra = parsed
              .filter(({ o }) => o.type === request.type && ids.has(o.id))
              .map(({ t }) => t);
            return { ids: read.ids, tuples: merge(read.tuples, extra) };
          },
        }
      : {}),
    ...(reader.readObject
      ? {
          async readObject(request: ObjectRequest): Promise<TupleKey[]> {
            const read = await reader.readObject!(request);
            const concerns = request.user ? forUser(request.user) : () => false;
            const extra = parsed
              .filter(
                (p) =>
                  p.o.type === request.type &&
                  p.o.id === request.id &&
                  (request.whole.includes(p.t.relation) ||
                    (request.direct.includes(p.t.relation) && concerns(p))),
              )
              .map(({ t }) => t);
            return merge(read, extra);
          },
        }
      : {}),
  };
}

/** One request's reads, each asked once; a chain read answers its objects' reads in advance. */
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
  const checkKey = (ot: string, oid: string, rel: string, user: ParsedUser) =>
    `c\0${ot}\0${oid}\0${rel}\0${user.type}\0${user.id}\0${user.relation}`;
  const relationKey = (ot: string, oid: string, rel: string) => `r\0${ot}\0${oid}\0${rel}`;
  const chains: ChainStarted[] = [];
  const batch = reader.readObject ? objectBatches(reader, reader.readObject.bind(reader), chains) : undefined;
  const memo: TupleReader = {
    readForCheck: (ot, oid, rel, user) =>
      once(checkKey(ot, oid, rel, user), () =>
        batch ? batch.read(ot, oid, rel, user) : reader.readForCheck(ot, oid, rel, user),
      ),
    readRelation: (ot, oid, rel) =>
      once(relationKey(ot, oid, rel), () =>
        batch ? batch.read(ot, oid, rel, undefined) : reader.readRelation(ot, oid, rel),
      ),
    tuplesByUser: (user) => once(`b\0${user}`, () => reader.tuplesByUser(user)),
  };
  const readChain = reader.readChain?.bind(reader);
  if (!readChain) return memo;
  memo.readChain = (request) => {
    const { type, id, user } = request;
    // Met again further down a chain already read: its answers are in the cache.
    const startKey = request.whole.includes(request.edge)
      ? relationKey(type, id, request.edge)
      : checkKey(type, id, request.edge, user);
    if (cache.has(startKey)) return Promise.resolve({ ids: [], tuples: [] });
    const key = `h\0${type}\0${id}\0${request.edge}\0${request.edgeUserRelation}\0${user.type}\0${user.id}\0${user.relation}`;
    return once(key, async () => {
      const started = readChain(request);
      chains.push({ request, read: started });
      const read = await started;
      const byObject = new Map<string, TupleKey[]>(read.ids.map((i) => [i, []]));
      for (const t of read.tuples) byObject.get(splitObject(t.object).id)?.push(t);
      for (const [oid, tuples] of byObject) {
        for (const rel of request.whole) {
          const k = relationKey(type, oid, rel);
          if (!cache.has(k)) cache.set(k, Promise.resolve(tuples.filter((t) => t.relation === rel)));
        }
        for (const rel of request.direct) {
          const k = checkKey(type, oid, rel, user);
          if (cache.has(k)) continue;
          const mine = tuples.filter((t) => t.relation === rel && concernsUser(t.user, user));
          cache.set(k, Promise.resolve(mine));
        }
      }
      return read;
    });
  };
  return memo;
}

/** A chain read this request started: it answers its first object's reads too. */
interface ChainStarted {
  request: ChainRequest;
  read: Promise<ChainRead>;
}

/** The reads of one object asked in one turn: `direct` ones for one user, `whole` ones for any. */
interface ObjectBatch {
  type: string;
  id: string;
  user: ParsedUser | undefined;
  direct: Map<string, PromiseWithResolvers<TupleKey[]>>;
  whole: Map<string, PromiseWithResolvers<TupleKey[]>>;
}

const sameUser = (a: ParsedUser, b: ParsedUser) =>
  a.type === b.type && a.id === b.id && a.relation === b.relation;

/**
 * Coalesces the reads of one object asked in the same turn into one `readObject` statement. A turn
 * ends when its promise jobs have run (`process.nextTick` runs after them), so the branches a union
 * starts together, and those that resume on the same answer, share a statement. A read alone in its
 * batch is sent as asked; a batch whose object starts a chain read of the same turn waits for the
 * chain instead, which holds the same tuples.
 */
function objectBatches(
  reader: TupleReader,
  readObject: (request: ObjectRequest) => Promise<TupleKey[]>,
  chains: readonly ChainStarted[],
) {
  let queued: ObjectBatch[] = [];

  const answer = (b: ObjectBatch, tuples: TupleKey[]) => {
    const object = `${b.type}:${b.id}`;
    for (const [rel, d] of b.whole)
      d.resolve(tuples.filter((t) => t.object === object && t.relation === rel));
    for (const [rel, d] of b.direct) {
      d.resolve(
        tuples.filter((t) => t.object === object && t.relation === rel && concernsUser(t.user, b.user!)),
      );
    }
  };
  const fail = (b: ObjectBatch, err: unknown) => {
    for (const d of [...b.direct.values(), ...b.whole.values()]) d.reject(err);
  };
  const send = (b: ObjectBatch) => {
    if (b.direct.size + b.whole.size === 1) {
      for (const [rel, d] of b.direct)
        reader.readForCheck(b.type, b.id, rel, b.user!).then(d.resolve, d.reject);
      for (const [rel, d] of b.whole) reader.readRelation(b.type, b.id, rel).then(d.resolve, d.reject);
      return;
    }
    readObject({
      type: b.type,
      id: b.id,
      direct: [...b.direct.keys()],
      whole: [...b.whole.keys()],
      user: b.user,
    }).then(
      (tuples) => answer(b, tuples),
      (err: unknown) => fail(b, err),
    );
  };
  const covering = (b: ObjectBatch) =>
    chains.find(
      ({ request: c }) =>
        c.type === b.type &&
        c.id === b.id &&
        (b.direct.size === 0 || sameUser(c.user, b.user!)) &&
        [...b.direct.keys()].every((r) => c.direct.includes(r) || c.whole.includes(r)) &&
        [...b.whole.keys()].every((r) => c.whole.includes(r)),
    );
  const flush = () => {
    const batches = queued;
    queued = [];
    for (const b of batches) {
      const chain = covering(b);
      if (!chain) {
        send(b);
        continue;
      }
      // A chain always holds its first object; should it not, or fail, the batch is read on its own.
      chain.read.then(
        (read) => (read.ids.includes(b.id) ? answer(b, read.tuples) : send(b)),
        () => send(b),
      );
    }
  };

  return {
    /** A `readForCheck` (with `user`) or a `readRelation` (without), answered when the turn's batch is. */
    read(type: string, id: string, relation: string, user: ParsedUser | undefined): Promise<TupleKey[]> {
      let b = queued.find(
        (q) => q.type === type && q.id === id && (!user || !q.user || sameUser(q.user, user)),
      );
      if (!b) {
        if (queued.length === 0) process.nextTick(flush);
        b = { type, id, user, direct: new Map(), whole: new Map() };
        queued.push(b);
      }
      b.user ??= user;
      const reads = user ? b.direct : b.whole;
      let d = reads.get(relation);
      if (!d) {
        d = Promise.withResolvers<TupleKey[]>();
        reads.set(relation, d);
      }
      return d.promise;
    },
  };
}
