import type { Sql } from '@gatehouse/core';
import { parseUser, type TupleKey } from '../tuple-key.ts';
import { sqlReadObject } from './sql-object-read.ts';
import type { ChainRead, ChainRequest, TupleReader } from './tuple-reader.ts';
import { rowToKey, type TupleRow, tupleColumns } from './tuple-rows.ts';

/**
 * Objects one chain read reaches at most: a group nesting thousands of groups is read in pieces (the
 * engine reads past the piece as it goes), not as one unbounded answer.
 */
const chainObjectsMax = 500;

/**
 * The reads of a check, ListObjects, ListUsers and Expand on one store: each one statement, a lookup
 * on the tuples' primary key prefix (store, object_type, object_id, relation) or on the by-user index,
 * so its cost does not grow with the store.
 */
export function sqlTupleReader(sql: Sql, storeId: string): TupleReader {
  return {
    async readForCheck(objectType, objectId, relation, user) {
      const rows = await sql.query<TupleRow>(
        `select ${tupleColumns} from authz_tuples
             where store_id = $1 and object_type = $2 and object_id = $3 and relation = $4
               and (user_relation <> ''
                    or (user_type = $5 and user_id = $6 and user_relation = $7)
                    or ($7 = '' and user_type = $5 and user_id = '*'))`,
        [storeId, objectType, objectId, relation, user.type, user.id, user.relation],
      );
      return rows.map(rowToKey);
    },
    async readRelation(objectType, objectId, relation) {
      const rows = await sql.query<TupleRow>(
        `select ${tupleColumns} from authz_tuples
             where store_id = $1 and object_type = $2 and object_id = $3 and relation = $4`,
        [storeId, objectType, objectId, relation],
      );
      return rows.map(rowToKey);
    },
    async readChain(request: ChainRequest): Promise<ChainRead> {
      const { user } = request;
      // `union` (not `union all`) with the step in the row keeps a cycle from growing the working
      // set: it ends at `maxSteps`. The limit is read lazily, so the recursion stops when it is met.
      // Each step is a lookup on the primary key's prefix: `offset 0` keeps the subqueries apart
      // so the planner cannot take another index (before the table has statistics, the by-user
      // index looks as good and scans the whole store for every step).
      const rows = await sql.query<TupleRow & { reached_id: string }>(
        `with recursive chain(object_id, step) as (
               select $3::text, 0
               union
               select next.user_id, c.step + 1 from chain c
               cross join lateral (
                 select t.user_type, t.user_id, t.user_relation from authz_tuples t
                 where t.store_id = $1 and t.object_type = $2 and t.object_id = c.object_id and t.relation = $4
                 offset 0
               ) next
               where c.step < $6 and next.user_type = $2 and next.user_relation = $5
             ), reached as (
               select distinct object_id from (select object_id from chain limit $7) first_steps
             )
             select r.object_id as reached_id, t.*
             from reached r
             left join lateral (
               select ${tupleColumns} from authz_tuples t
               where t.store_id = $1 and t.object_type = $2 and t.object_id = r.object_id
                 and (t.relation = any($8::text[])
                      or (t.relation = any($9::text[])
                          and (t.user_relation <> ''
                               or (t.user_type = $10 and t.user_id = $11 and t.user_relation = $12)
                               or ($12 = '' and t.user_type = $10 and t.user_id = '*'))))
               offset 0
             ) t on true`,
        [
          storeId,
          request.type,
          request.id,
          request.edge,
          request.edgeUserRelation,
          request.maxSteps,
          chainObjectsMax,
          request.whole,
          request.direct,
          user.type,
          user.id,
          user.relation,
        ],
      );
      const ids = new Set<string>();
      const tuples: TupleKey[] = [];
      for (const r of rows) {
        ids.add(r.reached_id);
        if (r.relation !== null) tuples.push(rowToKey(r));
      }
      return { ids: [...ids], tuples };
    },
    readObject: (request) => sqlReadObject(sql, storeId, request),
    async tuplesByUser(user) {
      const u = parseUser(user)!;
      const rows = await sql.query<TupleRow>(
        `select ${tupleColumns} from authz_tuples
             where store_id = $1 and user_type = $2 and user_id = $3 and user_relation = $4`,
        [storeId, u.type, u.id, u.relation],
      );
      return rows.map(rowToKey);
    },
  };
}
