import { parseUser, splitObject, type TupleKey } from '../tuple-key.ts';

/**
 * A tuple as the tables hold it: `authz_tuples` and `authz_changes` share these columns, so the
 * writes, the reads, the check reader and the change feed map rows to keys the same way.
 */
export interface TupleRow {
  object_type: string;
  object_id: string;
  relation: string;
  user_type: string;
  user_id: string;
  user_relation: string;
  condition_name: string | null;
  condition_context: Record<string, unknown> | null;
  inserted_at?: Date;
}

export const tupleColumns =
  'object_type, object_id, relation, user_type, user_id, user_relation, condition_name, condition_context';

export function rowToKey(r: TupleRow): TupleKey {
  const key: TupleKey = {
    object: `${r.object_type}:${r.object_id}`,
    relation: r.relation,
    user: r.user_relation ? `${r.user_type}:${r.user_id}#${r.user_relation}` : `${r.user_type}:${r.user_id}`,
  };
  if (r.condition_name) {
    key.condition = {
      name: r.condition_name,
      ...(r.condition_context ? { context: r.condition_context } : {}),
    };
  }
  return key;
}

/** A tuple's primary key columns after the store, in the order of the key. */
export function keyParams(t: TupleKey): [string, string, string, string, string, string] {
  const o = splitObject(t.object);
  const u = parseUser(t.user)!;
  return [o.type, o.id, t.relation, u.type, u.id, u.relation];
}
