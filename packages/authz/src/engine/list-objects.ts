import { type CheckEnv, check } from './check.ts';
import { forEachLimited } from './concurrency.ts';

/**
 * ListObjects: the objects of `type` on which `user` holds `relation`. Every object of that type that
 * appears in a tuple (stored or contextual) is a candidate, and each candidate is checked; a userset
 * user of the same type is its own candidate (document:1#viewer views document:1). Stops at
 * `maxResults`. An error in any candidate's check fails the whole request, as OpenFGA's does.
 */
export async function listObjects(
  env: CheckEnv,
  type: string,
  relation: string,
  user: string,
  maxResults: number,
  concurrency: number,
): Promise<string[]> {
  const candidates = new Set((await env.reader.objectIds(type)).map((id) => `${type}:${id}`));
  const hash = user.lastIndexOf('#');
  if (hash > 0 && user.startsWith(`${type}:`)) candidates.add(user.slice(0, hash));
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
