/**
 * A Google-Drive-like model and a deterministic data set of a given size: users in groups, groups
 * nested in groups, a tree of folders shared with groups and users, documents in folders with a few
 * direct viewers and an owner. The same seed always gives the same store.
 */
export const driveModel = `model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define parent: [folder]
    define owner: [user]
    define editor: [user, group#member] or owner or editor from parent
    define viewer: [user, group#member] or editor or viewer from parent
type document
  relations
    define parent: [folder]
    define owner: [user]
    define editor: [user, group#member] or owner or editor from parent
    define viewer: [user, group#member] or editor or viewer from parent
`;

export interface Tuple {
  object: string;
  relation: string;
  user: string;
}

export interface DriveData {
  tuples: Tuple[];
  users: number;
  groups: number;
  folders: number;
  documents: number;
  /** `count` check keys, viewer of a document: half by its owner (allowed), half by a user at random. */
  queries(count: number): Tuple[];
}

/** Park–Miller: small, deterministic, good enough to spread keys. */
export function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
}

export function driveData(size: number): DriveData {
  const rnd = random(42);
  const pick = (n: number) => Math.floor(rnd() * n);
  const users = Math.max(10, Math.round(size / 10));
  const groups = Math.max(4, Math.round(size / 100));
  const folders = Math.max(4, Math.round(size / 20));
  const tuples: Tuple[] = [];
  const seen = new Set<string>();
  const add = (t: Tuple) => {
    const k = `${t.object}#${t.relation}@${t.user}`;
    if (seen.has(k)) return;
    seen.add(k);
    tuples.push(t);
  };
  // Groups: a quarter nested in a group of lower number (no cycles), 3 members each on average.
  for (let g = 1; g < groups; g++) {
    if (rnd() < 0.25) add({ object: `group:g${pick(g)}`, relation: 'member', user: `group:g${g}#member` });
  }
  for (let i = 0; i < groups * 3; i++)
    add({ object: `group:g${pick(groups)}`, relation: 'member', user: `user:u${pick(users)}` });
  // Folders: a tree (each folder's parent has a lower number), shared with a group, sometimes a user.
  for (let f = 0; f < folders; f++) {
    if (f > 0) add({ object: `folder:f${f}`, relation: 'parent', user: `folder:f${pick(f)}` });
    add({ object: `folder:f${f}`, relation: 'owner', user: `user:u${pick(users)}` });
    if (rnd() < 0.3)
      add({ object: `folder:f${f}`, relation: 'viewer', user: `group:g${pick(groups)}#member` });
    if (rnd() < 0.1)
      add({ object: `folder:f${f}`, relation: 'editor', user: `group:g${pick(groups)}#member` });
  }
  // Documents fill the rest: a parent folder, an owner, sometimes a direct viewer.
  let documents = 0;
  const owners: string[] = [];
  while (tuples.length < size) {
    const d = `document:d${documents++}`;
    add({ object: d, relation: 'parent', user: `folder:f${pick(folders)}` });
    owners.push(`user:u${pick(users)}`);
    if (tuples.length < size) add({ object: d, relation: 'owner', user: owners.at(-1)! });
    if (tuples.length < size && rnd() < 0.3)
      add({ object: d, relation: 'viewer', user: `user:u${pick(users)}` });
  }
  return {
    tuples,
    users,
    groups,
    folders,
    documents,
    queries(count) {
      const q = random(7);
      return Array.from({ length: count }, (_, i) => {
        const d = Math.floor(q() * documents);
        const user = i % 2 === 0 ? owners[d]! : `user:u${Math.floor(q() * users)}`;
        return { object: `document:d${d}`, relation: 'viewer', user };
      });
    },
  };
}
