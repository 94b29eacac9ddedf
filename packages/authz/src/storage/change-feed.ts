import type { Sql } from '@gatehouse/core';
import type { TupleKey } from '../tuple-key.ts';
import { rowToKey, type TupleRow, tupleColumns } from './tuple-rows.ts';

export interface ChangeRecord {
  seq: number;
  operation: 'write' | 'delete';
  tuple: TupleKey;
  timestamp: Date;
}

/**
 * ReadChanges and the consistency token's position: `authz_changes`, one row per tuple written or
 * deleted, numbered in commit order (`writeTuples` takes the store's lock).
 */
export interface ChangeFeed {
  readChanges(
    storeId: string,
    objectType: string | undefined,
    pageSize: number,
    afterSeq: number,
    startTime: Date | undefined,
  ): Promise<ChangeRecord[]>;
  /** The position of the store's newest change (0 when it has none). */
  currentSeq(storeId: string): Promise<number>;
}

export function changeFeed(sql: Sql): ChangeFeed {
  return {
    async readChanges(storeId, objectType, pageSize, afterSeq, startTime) {
      const rows = await sql.query<
        TupleRow & { seq: number; operation: 'write' | 'delete'; changed_at: Date }
      >(
        `select seq, operation, ${tupleColumns}, changed_at from authz_changes
         where store_id = $1 and seq > $2 and ($3::text is null or object_type = $3)
           and ($4::timestamptz is null or changed_at >= $4)
         order by seq limit $5`,
        [storeId, afterSeq, objectType ?? null, startTime ?? null, pageSize],
      );
      return rows.map((r) => ({
        seq: Number(r.seq),
        operation: r.operation,
        tuple: rowToKey(r),
        timestamp: r.changed_at,
      }));
    },
    async currentSeq(storeId) {
      const rows = await sql.query<{ seq: number | null }>(
        'select max(seq) as seq from authz_changes where store_id = $1',
        [storeId],
      );
      return Number(rows[0]?.seq ?? 0);
    },
  };
}
