import type { TupleKey } from '../tuple-key.ts';

/** A row of `authz_tuples` (and of `authz_changes`, which has the same tuple columns). */
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

export const tupleColumnNames = [
  'object_type',
  'object_id',
  'relation',
  'user_type',
  'user_id',
  'user_relation',
  'condition_name',
  'condition_context',
] as const;

export const tupleColumns = tupleColumnNames.join(', ');

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
