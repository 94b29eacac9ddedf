import type { ExpandNode } from '@gatehouse/authz';

/** A node of the tree the check tester draws: what it is, whether it reaches the user, its children. */
export interface PathNode {
  label: string;
  reaches: boolean;
  /** A userset met here that was not expanded: the limit was hit, or it was already on the way. */
  notFollowed?: 'limit' | 'cycle';
  children: PathNode[];
}

export interface PathOptions {
  /** Expands `object#relation` (the permission service's Expand). */
  expand(object: string, relation: string): Promise<ExpandNode>;
  /** At most this many Expand calls after the first (default 20). */
  maxExpands?: number;
  /** At most this many usersets deep (default 6). */
  maxDepth?: number;
}

/** Users listed under one leaf beyond which the rest are summed up, not drawn. */
const shownUsers = 50;

/**
 * Why a check is allowed, as the engine gives no trace of its own: the Expand tree of the relation on
 * the object, walked in the console, each userset it meets (a computed relation, a parent's relation,
 * a `group:x#member` user) expanded in turn, and every node marked with whether it reaches the user.
 * Bounded (Expand calls and depth), cycle-safe; conditions are not evaluated, so the check's own
 * answer is the verdict and this is the explanation.
 */
export async function checkPath(
  user: string,
  object: string,
  relation: string,
  options: PathOptions,
): Promise<PathNode> {
  let budget = options.maxExpands ?? 20;
  const maxDepth = options.maxDepth ?? 6;
  const userType = user.split(':')[0];

  const followUserset = async (userset: string, depth: number, seen: Set<string>): Promise<PathNode> => {
    const hash = userset.lastIndexOf('#');
    const node: PathNode = { label: userset, reaches: false, children: [] };
    if (hash < 0) return node;
    if (seen.has(userset)) return { ...node, notFollowed: 'cycle' };
    if (budget <= 0 || depth >= maxDepth) return { ...node, notFollowed: 'limit' };
    budget -= 1;
    const tree = await options.expand(userset.slice(0, hash), userset.slice(hash + 1));
    const child: PathNode = await walk(tree, depth + 1, new Set([...seen, userset]));
    return { label: userset, reaches: child.reaches, children: [child] };
  };

  const walk = async (node: ExpandNode, depth: number, seen: Set<string>): Promise<PathNode> => {
    if (node.union) {
      const children: PathNode[] = [];
      let reaches = false;
      for (const n of node.union.nodes) {
        // Once one branch reaches the user the others are drawn without expanding further.
        const child: PathNode = reaches ? shallow(n) : await walk(n, depth, seen);
        reaches ||= child.reaches;
        children.push(child);
      }
      return { label: `${node.name}: any of (union)`, reaches, children };
    }
    if (node.intersection) {
      const children: PathNode[] = [];
      for (const n of node.intersection.nodes) children.push(await walk(n, depth, seen));
      return {
        label: `${node.name}: all of (intersection)`,
        reaches: children.every((c) => c.reaches),
        children,
      };
    }
    if (node.difference) {
      const base = await walk(node.difference.base, depth, seen);
      const subtract = await walk(node.difference.subtract, depth, seen);
      return {
        label: `${node.name}: but not (difference)`,
        reaches: base.reaches && !subtract.reaches,
        children: [
          { ...base, label: `base: ${base.label}` },
          { ...subtract, label: `but not: ${subtract.label}` },
        ],
      };
    }
    const leaf = node.leaf ?? {};
    if (leaf.computed) {
      const child: PathNode = await followUserset(leaf.computed.userset, depth, seen);
      return {
        label: `${node.name}: computed from ${leaf.computed.userset}`,
        reaches: child.reaches,
        children: [child],
      };
    }
    if (leaf.tupleToUserset) {
      const children: PathNode[] = [];
      let reaches = false;
      for (const { userset } of leaf.tupleToUserset.computed) {
        const child: PathNode = reaches
          ? { label: userset, reaches: false, children: [] }
          : await followUserset(userset, depth, seen);
        reaches ||= child.reaches;
        children.push(child);
      }
      return {
        label: `${node.name}: from parents through ${leaf.tupleToUserset.tupleset}`,
        reaches,
        children,
      };
    }
    const users = leaf.users?.users ?? [];
    const children: PathNode[] = [];
    let reaches = false;
    for (const u of users.slice(0, shownUsers)) {
      if (u === user || u === `${userType}:*`) {
        children.push({ label: u, reaches: true, children: [] });
        reaches = true;
      } else if (u.includes('#') && !reaches) {
        const child: PathNode = await followUserset(u, depth, seen);
        reaches ||= child.reaches;
        children.push(child);
      } else {
        children.push({ label: u, reaches: false, children: [] });
      }
    }
    if (users.length > shownUsers && !reaches) {
      // Past the drawn ones, only a direct match is looked for.
      const direct = users.slice(shownUsers).find((u) => u === user || u === `${userType}:*`);
      if (direct) {
        children.push({ label: direct, reaches: true, children: [] });
        reaches = true;
      }
    }
    if (users.length > children.length)
      children.push({ label: `… ${users.length - children.length} more`, reaches: false, children: [] });
    return { label: `${node.name}: direct tuples`, reaches, children };
  };

  const root = await options.expand(object, relation);
  return walk(root, 0, new Set([`${object}#${relation}`]));
}

/** A node drawn as the Expand answer gave it, without expanding its usersets. */
function shallow(node: ExpandNode): PathNode {
  const kids = node.union?.nodes ?? node.intersection?.nodes ?? [];
  const label = node.leaf?.computed
    ? `${node.name}: computed from ${node.leaf.computed.userset}`
    : node.leaf?.tupleToUserset
      ? `${node.name}: from parents through ${node.leaf.tupleToUserset.tupleset}`
      : node.leaf?.users
        ? `${node.name}: direct tuples (${node.leaf.users.users.length})`
        : node.name;
  return { label, reaches: false, children: kids.map(shallow) };
}
