import { authzErrors } from '../errors.ts';
import type { Userset } from '../model/model-types.ts';
import { parseUser, readProblem, splitObject } from '../tuple-key.ts';
import { type CheckEnv, check, conditionHolds } from './check.ts';
import { forEachLimited } from './concurrency.ts';

export interface UserFilter {
  type: string;
  relation?: string | undefined;
}

/**
 * ListUsers: the users of the filter's kind that hold `relation` on `object`, found by expanding the
 * relation downwards as OpenFGA does:
 *
 * - for a filter `user`: the objects (`user:anne`) and typed wildcards (`user:*`) met in the tuples the
 *   expansion reads; for a filter `group#member`: every userset `group:x#member` the expansion meets,
 *   as a tuple's user or as a node it passes through (`viewer from parent` passes `folder:x#viewer`);
 * - union joins, intersection keeps what every branch has (a branch holding `user:*` has everyone),
 *   exclusion keeps its base (the check below removes the excluded users);
 * - following a userset or a parent is one level deeper: beyond `maxDepth`, AUTHZ_RESOLUTION_TOO_COMPLEX;
 *   a node met again on one path adds nothing;
 * - each user found is then checked, so every answer is one a Check confirms.
 */
export async function listUsers(
  env: CheckEnv,
  object: string,
  relation: string,
  filter: UserFilter,
  maxResults: number,
  concurrency: number,
): Promise<string[]> {
  const wildcard = filter.relation ? undefined : `${filter.type}:*`;
  const expander = new Expander(env, filter, wildcard);
  const found = await expander.expand(object, relation, 0, new Set());
  const users: string[] = [];
  await forEachLimited([...found].sort(), concurrency, async (user) => {
    if (users.length >= maxResults) return false;
    if (await check(env, object, relation, user)) {
      if (users.length < maxResults) users.push(user);
    }
    return users.length < maxResults;
  });
  return users;
}

class Expander {
  private readonly env: CheckEnv;
  private readonly filter: UserFilter;
  private readonly wildcard: string | undefined;

  constructor(env: CheckEnv, filter: UserFilter, wildcard: string | undefined) {
    this.env = env;
    this.filter = filter;
    this.wildcard = wildcard;
  }

  async expand(
    object: string,
    relation: string,
    depth: number,
    visited: ReadonlySet<string>,
  ): Promise<Set<string>> {
    if (depth >= this.env.maxDepth) {
      throw authzErrors.create(
        'AUTHZ_RESOLUTION_TOO_COMPLEX',
        `resolution depth exceeded ${this.env.maxDepth} levels of nested relations`,
      );
    }
    const node = `${object}#${relation}`;
    if (visited.has(node)) return new Set();
    const path = new Set(visited).add(node);
    const { type, id } = splitObject(object);
    const info = this.env.ts.relation(type, relation);
    if (!info) return new Set();
    const found = await this.rewrite(object, type, id, relation, info.rewrite, depth, path);
    if (this.filter.relation && this.filter.type === type && this.filter.relation === relation)
      found.add(node);
    return found;
  }

  private async rewrite(
    object: string,
    type: string,
    id: string,
    relation: string,
    rewrite: Userset,
    depth: number,
    path: ReadonlySet<string>,
  ): Promise<Set<string>> {
    const { env } = this;
    if ('this' in rewrite) {
      const found = new Set<string>();
      const nested: Promise<Set<string>>[] = [];
      for (const t of await env.reader.readRelation(type, id, relation)) {
        const user = parseUser(t.user)!;
        // A user of another kind than the filter's adds nothing: its condition is not even evaluated.
        const matches = user.type === this.filter.type && user.relation === (this.filter.relation ?? '');
        if ((!user.relation && !matches) || readProblem(env.ts, t) || !conditionHolds(env, t)) continue;
        if (matches) found.add(t.user);
        if (!user.relation) continue;
        nested.push(this.expand(`${user.type}:${user.id}`, user.relation, depth + 1, path));
      }
      for (const set of await Promise.all(nested)) for (const u of set) found.add(u);
      return found;
    }
    if ('computedUserset' in rewrite) {
      return this.expand(object, rewrite.computedUserset.relation ?? '', depth, path);
    }
    if ('tupleToUserset' in rewrite) {
      const computed = rewrite.tupleToUserset.computedUserset.relation ?? '';
      const nested: Promise<Set<string>>[] = [];
      for (const t of await env.reader.readRelation(
        type,
        id,
        rewrite.tupleToUserset.tupleset.relation ?? '',
      )) {
        if (readProblem(env.ts, t) || !conditionHolds(env, t)) continue;
        const parent = parseUser(t.user)!;
        if (parent.relation || !env.ts.relation(parent.type, computed)) continue;
        nested.push(this.expand(t.user, computed, depth + 1, path));
      }
      const found = new Set<string>();
      for (const set of await Promise.all(nested)) for (const u of set) found.add(u);
      return found;
    }
    if ('union' in rewrite) {
      const sets = await Promise.all(
        rewrite.union.child.map((c) => this.rewrite(object, type, id, relation, c, depth, path)),
      );
      const found = new Set<string>();
      for (const set of sets) for (const u of set) found.add(u);
      return found;
    }
    if ('intersection' in rewrite) {
      const sets = await Promise.all(
        rewrite.intersection.child.map((c) => this.rewrite(object, type, id, relation, c, depth, path)),
      );
      const found = new Set<string>();
      for (const set of sets) {
        for (const u of set) {
          if (sets.every((s) => s.has(u) || (this.wildcard !== undefined && s.has(this.wildcard))))
            found.add(u);
        }
      }
      return found;
    }
    // The subtracted branch cannot be expanded into a set ("everyone but anne" has no list), so the base
    // stands for the exclusion here and the check of each user found removes the excluded ones.
    return this.rewrite(object, type, id, relation, rewrite.difference.base, depth, path);
  }
}
