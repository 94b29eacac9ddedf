import { parseUser, splitObject } from '../tuple-key.ts';
import { type CheckEnv, check } from './check.ts';
import { forEachLimited } from './concurrency.ts';

/**
 * ListObjects: the objects of `type` on which `user` holds `relation`, found by walking up from the
 * user as OpenFGA's reverse expansion does, then confirming each candidate with a check:
 *
 * - the walk starts at the tuples naming the user (and its type's wildcard, and the user itself when it
 *   is a userset), and climbs from each `object#relation` it reaches to the relations that include it:
 *   computed relations on the same object, userset tuples naming it, and `x from parent` edges from the
 *   objects whose parent it is;
 * - nodes from which the model gives no way to `type#relation` are not followed, so the statements run
 *   grow with what the user can reach, not with the store;
 * - intersection and exclusion are walked through their branches (a superset), and the check of each
 *   candidate decides; up to `maxResults` objects are returned. An error in a check fails the request.
 */
export async function listObjects(
  env: CheckEnv,
  type: string,
  relation: string,
  user: string,
  maxResults: number,
  concurrency: number,
): Promise<string[]> {
  const { ts, reader } = env;
  const candidates = new Set<string>();
  const seen = new Set<string>();
  let frontier: [string, string][] = [];
  const reach = (object: string, rel: string) => {
    const key = `${object}#${rel}`;
    if (seen.has(key)) return;
    seen.add(key);
    const objectType = splitObject(object).type;
    if (!ts.canReach(type, relation, `${objectType}#${rel}`)) return;
    if (objectType === type && rel === relation) candidates.add(object);
    frontier.push([object, rel]);
  };
  const parsed = parseUser(user)!;
  const starts = [user];
  if (parsed.relation) reach(`${parsed.type}:${parsed.id}`, parsed.relation);
  else if (parsed.id !== '*') starts.push(`${parsed.type}:*`);
  for (const start of starts) for (const t of await reader.tuplesByUser(start)) reach(t.object, t.relation);
  while (frontier.length > 0) {
    const level = frontier;
    frontier = [];
    await forEachLimited(level, concurrency, async ([object, rel]) => {
      const objectType = splitObject(object).type;
      for (const parent of ts.computedParents(objectType, rel)) reach(object, parent);
      for (const t of await reader.tuplesByUser(`${object}#${rel}`)) reach(t.object, t.relation);
      const edges = ts.ttuParents(objectType, rel);
      if (edges.length > 0) {
        for (const t of await reader.tuplesByUser(object)) {
          const childType = splitObject(t.object).type;
          for (const e of edges)
            if (e.type === childType && e.tupleset === t.relation) reach(t.object, e.relation);
        }
      }
      return true;
    });
  }
  const found: string[] = [];
  await forEachLimited([...candidates].sort(), concurrency, async (object) => {
    if (found.length >= maxResults) return false;
    if (await check(env, object, relation, user)) {
      if (found.length < maxResults) found.push(object);
    }
    return found.length < maxResults;
  });
  return found;
}
