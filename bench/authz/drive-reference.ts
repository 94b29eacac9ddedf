/**
 * A referee for the Drive model: the answer to `viewer`/`editor`/`owner` checks worked out directly
 * from the tuples in memory, written from the model's text and nothing else (no engine code), so
 * that when the engine and the SpiceDB peer disagree there is a third opinion that shares neither's
 * bugs. It knows only the Drive model (drive-model.ts): no conditions, no wildcards, no exclusion.
 *
 *   group#member     = [user, group#member]
 *   folder|document  parent: [folder]; owner: [user]
 *     editor = [user, group#member] or owner or editor from parent
 *     viewer = [user, group#member] or editor or viewer from parent
 */
import type { Tuple } from './drive-model.ts';

export interface DriveReference {
  check(t: Tuple): boolean;
}

export function driveReference(tuples: readonly Tuple[]): DriveReference {
  const byObjectRelation = new Map<string, string[]>();
  for (const t of tuples) {
    const key = `${t.object}#${t.relation}`;
    const users = byObjectRelation.get(key);
    if (users) users.push(t.user);
    else byObjectRelation.set(key, [t.user]);
  }
  const usersOf = (object: string, relation: string) => byObjectRelation.get(`${object}#${relation}`) ?? [];

  // `seen` guards against cycles (the generator makes none, but a referee must not loop).
  const holds = (object: string, relation: string, user: string, seen: Set<string>): boolean => {
    const key = `${object}#${relation}@${user}`;
    if (seen.has(key)) return false;
    seen.add(key);
    // Direct tuples: the user itself, or a userset (group:g#member) the user is in.
    for (const u of usersOf(object, relation)) {
      if (u === user) return true;
      const hash = u.indexOf('#');
      if (hash > 0 && holds(u.slice(0, hash), u.slice(hash + 1), user, seen)) return true;
    }
    if (object.startsWith('group:')) return false;
    if (relation === 'editor' && holds(object, 'owner', user, seen)) return true;
    if (relation === 'viewer' && holds(object, 'editor', user, seen)) return true;
    if (relation === 'editor' || relation === 'viewer') {
      for (const parent of usersOf(object, 'parent')) if (holds(parent, relation, user, seen)) return true;
    }
    return false;
  };
  return { check: (t) => holds(t.object, t.relation, t.user, new Set()) };
}
