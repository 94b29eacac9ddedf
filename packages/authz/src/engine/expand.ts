import type { Userset } from '../model/model-types.ts';
import type { TypeSystem } from '../model/type-system.ts';
import type { TupleReader } from '../storage/tuple-reader.ts';
import { parseUser, readProblem, splitObject } from '../tuple-key.ts';

/** One node of an Expand answer, in OpenFGA's shape. */
export interface ExpandNode {
  name: string;
  leaf?: {
    users?: { users: string[] };
    computed?: { userset: string };
    tupleToUserset?: { tupleset: string; computed: { userset: string }[] };
  };
  union?: { nodes: ExpandNode[] };
  intersection?: { nodes: ExpandNode[] };
  difference?: { base: ExpandNode; subtract: ExpandNode };
}

/**
 * Expand: the relation's rewrite on one object, one level deep, with the tuples it reads filled in
 * (direct users and usersets, the computed relations, each tuple-to-userset's parents). A caller
 * expands a userset it meets to go further, as with OpenFGA.
 */
export async function expand(
  ts: TypeSystem,
  reader: TupleReader,
  object: string,
  relation: string,
): Promise<ExpandNode> {
  const { type, id } = splitObject(object);
  const info = ts.relation(type, relation)!;
  const name = `${object}#${relation}`;
  const walk = async (rewrite: Userset): Promise<ExpandNode> => {
    if ('this' in rewrite) {
      const tuples = (await reader.readRelation(type, id, relation)).filter((t) => !readProblem(ts, t));
      return { name, leaf: { users: { users: tuples.map((t) => t.user).sort() } } };
    }
    if ('computedUserset' in rewrite) {
      return { name, leaf: { computed: { userset: `${object}#${rewrite.computedUserset.relation}` } } };
    }
    if ('tupleToUserset' in rewrite) {
      const tupleset = rewrite.tupleToUserset.tupleset.relation ?? '';
      const computed = rewrite.tupleToUserset.computedUserset.relation ?? '';
      const parents = (await reader.readRelation(type, id, tupleset))
        .filter((t) => !readProblem(ts, t))
        .map((t) => parseUser(t.user))
        .filter((u) => u && !u.relation && ts.relation(u.type, computed))
        .map((u) => ({ userset: `${u!.type}:${u!.id}#${computed}` }));
      return { name, leaf: { tupleToUserset: { tupleset: `${object}#${tupleset}`, computed: parents } } };
    }
    if ('union' in rewrite)
      return { name, union: { nodes: await Promise.all(rewrite.union.child.map(walk)) } };
    if ('intersection' in rewrite) {
      return { name, intersection: { nodes: await Promise.all(rewrite.intersection.child.map(walk)) } };
    }
    return {
      name,
      difference: {
        base: await walk(rewrite.difference.base),
        subtract: await walk(rewrite.difference.subtract),
      },
    };
  };
  return walk(info.rewrite);
}
