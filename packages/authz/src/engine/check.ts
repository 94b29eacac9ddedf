import { authzErrors } from '../errors.ts';
import type { Userset } from '../model/model-types.ts';
import type { TypeSystem } from '../model/type-system.ts';
import type { TupleReader } from '../storage/tuple-reader.ts';
import { type ParsedUser, parseUser, readProblem, splitObject, type TupleKey } from '../tuple-key.ts';

/**
 * Check: does `user` hold `relation` on `object`? The evaluation follows OpenFGA's (internal/graph):
 *
 * - a relation's rewrite is walked: direct tuples (`[user, user:*, group#member]`), computed relations,
 *   tuple-to-userset (`viewer from parent`), union, intersection, exclusion;
 * - following a userset tuple or a tuple-to-userset edge is one level deeper; at `maxDepth` levels the
 *   check fails with AUTHZ_RESOLUTION_TOO_COMPLEX (a computed relation on the same object is not a level);
 * - the same `object#relation@user` met again on one path is a cycle: that branch is false (and makes an
 *   intersection or exclusion that meets it false), never an endless loop;
 * - union is true when any branch is, intersection false when any branch is, and an error in a branch
 *   only surfaces when the other branches cannot decide without it;
 * - stored tuples that the current model no longer allows are ignored; a tuple's condition must hold
 *   (evaluated over the tuple's context merged over the request's);
 * - a user kind that can never reach the relation (by the model's types alone) is false without a read.
 */
export interface CheckEnv {
  ts: TypeSystem;
  reader: TupleReader;
  context: Record<string, unknown>;
  maxDepth: number;
  conditionCostLimit: number;
}

interface Outcome {
  allowed: boolean;
  cycle?: boolean;
}

/**
 * Cancels the branches nobody waits for any more: once a union has an allowing branch (or an
 * intersection a denying one), its other branches stop before their next read instead of walking
 * their subtrees for an answer that no longer matters. A token is stopped when it or any ancestor is.
 */
class Stop {
  #stopped = false;
  readonly #parent: Stop | undefined;
  constructor(parent?: Stop) {
    this.#parent = parent;
  }
  stop(): void {
    this.#stopped = true;
  }
  get stopped(): boolean {
    return this.#stopped || (this.#parent?.stopped ?? false);
  }
}

type Thunk = (stop: Stop) => Promise<Outcome>;

const allowed: Outcome = { allowed: true };
const unionBreadth = 16;
const denied: Outcome = { allowed: false };

export async function check(env: CheckEnv, object: string, relation: string, user: string): Promise<boolean> {
  const outcome = await resolve(env, object, relation, user, parseUser(user)!, 0, new Set(), new Stop());
  return outcome.allowed;
}

async function resolve(
  env: CheckEnv,
  object: string,
  relation: string,
  userString: string,
  user: ParsedUser,
  depth: number,
  visited: ReadonlySet<string>,
  stop: Stop,
): Promise<Outcome> {
  // An abandoned branch's answer is never read: any answer will do, and false costs nothing.
  if (stop.stopped) return denied;
  if (depth >= env.maxDepth) {
    throw authzErrors.create(
      'AUTHZ_RESOLUTION_TOO_COMPLEX',
      `resolution depth exceeded ${env.maxDepth} levels of nested relations`,
    );
  }
  const key = `${object}#${relation}@${userString}`;
  if (visited.has(key)) return { allowed: false, cycle: true };
  const path = new Set(visited).add(key);
  // A userset always holds itself: document:1#viewer is a viewer of document:1.
  if (user.relation && user.relation === relation && userString === `${object}#${relation}`) return allowed;
  const { type, id } = splitObject(object);
  const info = env.ts.relation(type, relation);
  if (!info) throw authzErrors.create('AUTHZ_RELATION_NOT_FOUND', `relation '${type}#${relation}' not found`);
  const kind = user.relation ? `${user.type}#${user.relation}` : user.type;
  if (!env.ts.canReach(type, relation, kind)) return denied;
  const req: Request = { env, object, type, id, relation, userString, user, depth, path };
  return rewriteOutcome(req, info.rewrite)(stop);
}

interface Request {
  env: CheckEnv;
  object: string;
  type: string;
  id: string;
  relation: string;
  userString: string;
  user: ParsedUser;
  depth: number;
  path: ReadonlySet<string>;
}

function rewriteOutcome(req: Request, rewrite: Userset): Thunk {
  if ('this' in rewrite) return (stop) => direct(req, stop);
  if ('computedUserset' in rewrite) {
    const computed = rewrite.computedUserset.relation ?? '';
    return (stop) =>
      resolve(req.env, req.object, computed, req.userString, req.user, req.depth, req.path, stop);
  }
  if ('tupleToUserset' in rewrite) {
    const ttu = rewrite.tupleToUserset;
    return (stop) =>
      tupleToUserset(req, ttu.tupleset.relation ?? '', ttu.computedUserset.relation ?? '', stop);
  }
  if ('union' in rewrite) {
    const children = rewrite.union.child.map((c) => rewriteOutcome(req, c));
    return (stop) => union(children, stop);
  }
  if ('intersection' in rewrite) {
    const children = rewrite.intersection.child.map((c) => rewriteOutcome(req, c));
    return (stop) => intersection(children, stop);
  }
  if ('difference' in rewrite) {
    const base = rewriteOutcome(req, rewrite.difference.base);
    const subtract = rewriteOutcome(req, rewrite.difference.subtract);
    return (stop) => exclusion(base, subtract, stop);
  }
  return () => Promise.reject(authzErrors.create('AUTHZ_INTERNAL', 'unknown rewrite operator'));
}

/** Whether the tuple's condition (if any) holds for this request. */
export function conditionHolds(env: CheckEnv, tuple: TupleKey): boolean {
  const name = tuple.condition?.name;
  if (!name) return true;
  const condition = env.ts.conditions.get(name);
  if (!condition) return false;
  return condition.evaluate({ ...env.context, ...(tuple.condition?.context ?? {}) }, env.conditionCostLimit);
}

async function direct(req: Request, stop: Stop): Promise<Outcome> {
  const { env, user } = req;
  if (stop.stopped) return denied;
  // `member: [group#member]`: the groups nested in this one, and theirs, are read in one go.
  if (nests(env.ts, req.type, req.relation, req.relation)) await readChain(req, req.relation, req.relation);
  const tuples = await env.reader.readForCheck(req.type, req.id, req.relation, user);
  const wildcard = user.relation ? undefined : `${user.type}:*`;
  const branches: Thunk[] = [];
  let error: unknown;
  for (const t of tuples) {
    if (readProblem(env.ts, t)) continue;
    if (t.user === req.userString || t.user === wildcard) {
      try {
        if (conditionHolds(env, t)) return allowed;
      } catch (err) {
        error = err;
      }
      continue;
    }
    const set = parseUser(t.user);
    if (!set?.relation) continue;
    branches.push(async (branchStop) => {
      if (!conditionHolds(env, t)) return denied;
      return resolve(
        env,
        `${set.type}:${set.id}`,
        set.relation,
        req.userString,
        user,
        req.depth + 1,
        req.path,
        branchStop,
      );
    });
  }
  if (error !== undefined) branches.push(() => Promise.reject(error));
  return union(branches, stop);
}

async function tupleToUserset(
  req: Request,
  tupleset: string,
  computed: string,
  stop: Stop,
): Promise<Outcome> {
  const { env } = req;
  if (stop.stopped) return denied;
  // `parent: [folder]` on a folder: the chain of parents, and their tuples, is read in one go.
  if (nests(env.ts, req.type, tupleset, '')) await readChain(req, tupleset, '');
  const tuples = await env.reader.readRelation(req.type, req.id, tupleset);
  const branches: Thunk[] = [];
  for (const t of tuples) {
    if (readProblem(env.ts, t)) continue;
    const parent = parseUser(t.user);
    if (!parent || parent.relation || parent.id === '*') continue;
    // The parent's type may not define the computed relation: that edge leads nowhere.
    if (!env.ts.relation(parent.type, computed)) continue;
    branches.push(async (branchStop) => {
      if (!conditionHolds(env, t)) return denied;
      return resolve(env, t.user, computed, req.userString, req.user, req.depth + 1, req.path, branchStop);
    });
  }
  return union(branches, stop);
}

/** Whether `type#relation` may hold objects of its own type (`userRelation` '') or its own usersets. */
function nests(ts: TypeSystem, type: string, relation: string, userRelation: string): boolean {
  return (
    ts
      .relation(type, relation)
      ?.directTypes.some((r) => r.type === type && (r.relation ?? '') === userRelation && !r.wildcard) ??
    false
  );
}

/**
 * Reads ahead the chain that starts at this object, so the levels below answer from the request's
 * memo. The engine still walks it level by level (depth, cycles, conditions and type restrictions
 * are decided as without it); only where the tuples come from changes.
 */
async function readChain(req: Request, edge: string, edgeUserRelation: string): Promise<void> {
  const { env } = req;
  if (!env.reader.readChain) return;
  const relations = env.ts.relationsOf(req.type);
  await env.reader.readChain({
    type: req.type,
    id: req.id,
    edge,
    edgeUserRelation,
    user: req.user,
    direct: relations.filter((r) => r.directTypes.length > 0).map((r) => r.name),
    whole: relations.filter((r) => env.ts.isTupleset(req.type, r.name)).map((r) => r.name),
    maxSteps: Math.max(0, env.maxDepth - req.depth),
  });
}

/**
 * True as soon as one branch is; at most `unionBreadth` branches run at once (a group with thousands of
 * nested groups does not become thousands of statements in flight). An error only counts when no branch
 * is true.
 */
async function union(branches: Thunk[], parent: Stop): Promise<Outcome> {
  if (branches.length === 0) return denied;
  if (branches.length === 1) return branches[0]!(parent);
  const stop = new Stop(parent);
  return new Promise<Outcome>((resolvePromise, reject) => {
    let next = 0;
    let running = 0;
    let cycle = false;
    let error: unknown;
    let done = false;
    const finish = () => {
      if (done || running > 0 || next < branches.length) return;
      done = true;
      if (error !== undefined) reject(error);
      else resolvePromise(cycle ? { allowed: false, cycle: true } : denied);
    };
    const start = () => {
      while (!done && running < unionBreadth && next < branches.length) {
        const branch = branches[next++]!;
        running++;
        branch(stop).then(
          (o) => {
            running--;
            if (done) return;
            if (o.allowed) {
              done = true;
              stop.stop();
              resolvePromise(allowed);
              return;
            }
            if (o.cycle) cycle = true;
            start();
            finish();
          },
          (err: unknown) => {
            running--;
            error ??= err;
            start();
            finish();
          },
        );
      }
    };
    start();
  });
}

/** True only when every branch is; the first false (or cycle) decides, even over another branch's error. */
async function intersection(branches: Thunk[], parent: Stop): Promise<Outcome> {
  const stop = new Stop(parent);
  return new Promise<Outcome>((resolvePromise, reject) => {
    let pending = branches.length;
    let error: unknown;
    let done = false;
    for (const branch of branches) {
      branch(stop).then(
        (o) => {
          pending--;
          if (done) return;
          if (!o.allowed || o.cycle) {
            done = true;
            stop.stop();
            resolvePromise({ allowed: false, ...(o.cycle ? { cycle: true } : {}) });
            return;
          }
          if (pending === 0) {
            done = true;
            if (error !== undefined) reject(error);
            else resolvePromise(allowed);
          }
        },
        (err: unknown) => {
          pending--;
          error ??= err;
          if (!done && pending === 0) {
            done = true;
            reject(error);
          }
        },
      );
    }
  });
}

/** `base but not subtract`: false as soon as base is false or subtract is true (or either meets a cycle). */
async function exclusion(base: Thunk, subtract: Thunk, parent: Stop): Promise<Outcome> {
  // A false (or cyclic) base decides alone, so it stops the subtracted side; a true subtracted side
  // does not stop the base, whose own answer still says which kind of false this is.
  const stopSubtract = new Stop(parent);
  const [b, s] = await Promise.allSettled([
    base(parent).then((o) => {
      if (!o.allowed || o.cycle) stopSubtract.stop();
      return o;
    }),
    subtract(stopSubtract),
  ]);
  if (b.status === 'fulfilled' && (!b.value.allowed || b.value.cycle)) {
    return { allowed: false, ...(b.value.cycle ? { cycle: true } : {}) };
  }
  if (s.status === 'fulfilled' && (s.value.allowed || s.value.cycle)) {
    return { allowed: false, ...(s.value.cycle ? { cycle: true } : {}) };
  }
  if (b.status === 'rejected') throw b.reason;
  if (s.status === 'rejected') throw s.reason;
  return allowed;
}
