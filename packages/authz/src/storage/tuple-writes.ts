import type { Sql, SqlTx } from '@gatehouse/core';
import { authzErrors } from '../errors.ts';
import { type TupleKey, tupleString } from '../tuple-key.ts';
import { keyParams, rowToKey, type TupleRow, tupleColumns } from './tuple-rows.ts';

export interface WriteOptions {
  onDuplicate: 'error' | 'ignore';
  onMissing: 'error' | 'ignore';
}

/** Write: tuples added and removed, each recorded in the change feed, with OpenFGA's preconditions. */
export interface TupleWrites {
  /** Applies deletes then writes in one transaction; resolves to the change feed position after it. */
  writeTuples(
    storeId: string,
    writes: TupleKey[],
    deletes: TupleKey[],
    options: WriteOptions,
  ): Promise<number>;
}

function sameCondition(a: TupleKey['condition'], b: TupleKey['condition']): boolean {
  if (!a?.name && !b?.name) return true;
  return a?.name === b?.name && JSON.stringify(a?.context ?? {}) === JSON.stringify(b?.context ?? {});
}

/**
 * Inserts `writes` with one statement for the tuples and one for their changes, whatever their number
 * (a bulk load through `write` with a raised limit costs a few statements per batch, not two per
 * tuple). A tuple that already exists fails the write (naming the first such tuple, in the order
 * given) unless duplicates are ignored and it carries the same condition. Resolves to the position
 * of the last change recorded (0 when every tuple existed).
 */
async function insertTuples(
  tx: SqlTx,
  storeId: string,
  writes: TupleKey[],
  options: WriteOptions,
): Promise<number> {
  const keys = writes.map(keyParams);
  const column = (i: number) => keys.map((k) => k[i]!);
  const conditionNames = writes.map((t) => t.condition?.name ?? null);
  const conditionContexts = writes.map((t) =>
    t.condition?.context ? JSON.stringify(t.condition.context) : null,
  );
  const inserted = await tx.query<{ i: number }>(
    `with input as (
       select * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
         with ordinality as i(object_type, object_id, relation, user_type, user_id, user_relation, condition_name, condition_context, i)
     ), added as (
       insert into authz_tuples (store_id, ${tupleColumns})
       select $1, object_type, object_id, relation, user_type, user_id, user_relation, condition_name, condition_context::jsonb
       from input order by i
       on conflict do nothing
       returning object_type, object_id, relation, user_type, user_id, user_relation
     )
     select input.i from input join added using (object_type, object_id, relation, user_type, user_id, user_relation)
     order by input.i`,
    [storeId, ...[0, 1, 2, 3, 4, 5].map(column), conditionNames, conditionContexts],
  );
  const added = new Set(inserted.map((r) => Number(r.i) - 1));
  for (const [i, t] of writes.entries()) {
    if (added.has(i)) continue;
    if (options.onDuplicate === 'ignore') {
      const existing = await tx.query<TupleRow>(
        `select ${tupleColumns} from authz_tuples where store_id = $1 and object_type = $2 and object_id = $3
           and relation = $4 and user_type = $5 and user_id = $6 and user_relation = $7`,
        [storeId, ...keyParams(t)],
      );
      if (existing[0] && sameCondition(rowToKey(existing[0]).condition, t.condition)) continue;
    }
    throw authzErrors.create(
      'AUTHZ_WRITE_CONFLICT',
      `cannot write a tuple which already exists: user: '${t.user}', relation: '${t.relation}', object: '${t.object}': tuple to be written already existed or the tuple to be deleted did not exist`,
      { details: { tuple: tupleString(t) } },
    );
  }
  if (added.size === 0) return 0;
  const order = [...added].sort((a, b) => a - b);
  const pick = <T>(values: T[]) => order.map((i) => values[i]!);
  const changes = await tx.query<{ seq: number }>(
    `insert into authz_changes (store_id, operation, object_type, object_id, relation, user_type, user_id,
       user_relation, condition_name, condition_context)
     select $1, 'write', object_type, object_id, relation, user_type, user_id, user_relation, condition_name,
       condition_context::jsonb
     from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
       with ordinality as i(object_type, object_id, relation, user_type, user_id, user_relation, condition_name, condition_context, i)
     order by i
     returning seq`,
    [
      storeId,
      ...[0, 1, 2, 3, 4, 5].map((c) => pick(column(c))),
      pick(conditionNames),
      pick(conditionContexts),
    ],
  );
  return Math.max(...changes.map((r) => Number(r.seq)));
}

/** Records one tuple's change in the feed; resolves to its position. */
async function recordChange(
  tx: SqlTx,
  storeId: string,
  op: 'write' | 'delete',
  t: TupleKey,
): Promise<number> {
  const rows = await tx.query<{ seq: number }>(
    `insert into authz_changes (store_id, operation, object_type, object_id, relation, user_type, user_id,
         user_relation, condition_name, condition_context)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) returning seq`,
    [
      storeId,
      op,
      ...keyParams(t),
      t.condition?.name ?? null,
      t.condition?.context ? JSON.stringify(t.condition.context) : null,
    ],
  );
  return Number(rows[0]!.seq);
}

export function tupleWrites(sql: Sql): TupleWrites {
  return {
    writeTuples(storeId, writes, deletes, options) {
      return sql.transaction(async (tx) => {
        // One writer per store at a time: change sequence numbers then commit in order, so a feed reader
        // that saw position n never misses a change below n.
        await tx.query(`select pg_advisory_xact_lock(hashtext('authz_store:' || $1))`, [storeId]);
        let seq = 0;
        for (const t of deletes) {
          const removed = await tx.query(
            `delete from authz_tuples where store_id = $1 and object_type = $2 and object_id = $3 and relation = $4
               and user_type = $5 and user_id = $6 and user_relation = $7 returning 1`,
            [storeId, ...keyParams(t)],
          );
          if (removed.length === 0) {
            if (options.onMissing === 'ignore') continue;
            throw authzErrors.create(
              'AUTHZ_WRITE_CONFLICT',
              `cannot delete a tuple which does not exist: user: '${t.user}', relation: '${t.relation}', object: '${t.object}': tuple to be deleted did not exist`,
              { details: { tuple: tupleString(t) } },
            );
          }
          seq = await recordChange(tx, storeId, 'delete', t);
        }
        if (writes.length > 0) seq = (await insertTuples(tx, storeId, writes, options)) || seq;
        if (seq === 0) {
          const rows = await tx.query<{ seq: number | null }>(
            'select max(seq) as seq from authz_changes where store_id = $1',
            [storeId],
          );
          seq = Number(rows[0]?.seq ?? 0);
        }
        return seq;
      });
    },
  };
}
