import type { Sql } from '@gatehouse/core';
import { parseUser, type TupleKey } from '../tuple-key.ts';
import { rowToKey, type TupleRow, tupleColumns } from './tuple-rows.ts';

export interface StoredTuple extends TupleKey {
  timestamp: Date;
}

export interface TupleFilter {
  objectType?: string | undefined;
  objectId?: string | undefined;
  relation?: string | undefined;
  user?: string | undefined;
}

/** The sort key of a tuple, for keyset pagination of Read. */
export type TupleSortKey = [string, string, string, string, string, string];

/** Read: a store's tuples by filter, a page at a time in primary key order. */
export interface TuplePages {
  readTuples(
    storeId: string,
    filter: TupleFilter,
    pageSize: number,
    after: TupleSortKey | undefined,
  ): Promise<StoredTuple[]>;
}

export function tuplePages(sql: Sql): TuplePages {
  return {
    async readTuples(storeId, filter, pageSize, after) {
      const user = filter.user ? parseUser(filter.user) : undefined;
      const rows = await sql.query<TupleRow>(
        `select ${tupleColumns}, inserted_at from authz_tuples
         where store_id = $1
           and ($2::text is null or object_type = $2) and ($3::text is null or object_id = $3)
           and ($4::text is null or relation = $4)
           and ($5::text is null or (user_type = $5 and user_id = $6 and user_relation = $7))
           and ($8::text is null or (object_type, object_id, relation, user_type, user_id, user_relation)
                > ($8, $9, $10, $11, $12, $13))
         order by object_type, object_id, relation, user_type, user_id, user_relation
         limit $14`,
        [
          storeId,
          filter.objectType ?? null,
          filter.objectId ?? null,
          filter.relation ?? null,
          user?.type ?? null,
          user?.id ?? null,
          user?.relation ?? null,
          ...(after ?? [null, null, null, null, null, null]),
          pageSize,
        ],
      );
      return rows.map((r) => ({ ...rowToKey(r), timestamp: r.inserted_at! }));
    },
  };
}
