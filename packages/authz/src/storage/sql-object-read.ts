import type { Sql } from '@gatehouse/core';
import type { TupleKey } from '../tuple-key.ts';
import type { ObjectRequest } from './tuple-reader.ts';
import { rowToKey, type TupleRow, tupleColumns } from './tuple-rows.ts';

/**
 * `readObject` on the SQL storage: several relations of one object in one statement. The relations
 * asked are the index condition (a lookup on the primary key's prefix per relation, as `readForCheck`
 * and `readRelation` make); the user filter applies to the `direct` ones only.
 */
export async function sqlReadObject(sql: Sql, storeId: string, request: ObjectRequest): Promise<TupleKey[]> {
  const { user } = request;
  const rows = await sql.query<TupleRow>(
    `select ${tupleColumns} from authz_tuples
     where store_id = $1 and object_type = $2 and object_id = $3 and relation = any($4::text[])
       and (relation = any($5::text[])
            or user_relation <> ''
            or (user_type = $6 and user_id = $7 and user_relation = $8)
            or ($8 = '' and user_type = $6 and user_id = '*'))`,
    [
      storeId,
      request.type,
      request.id,
      [...request.whole, ...request.direct],
      request.whole,
      user?.type ?? '',
      user?.id ?? '',
      user?.relation ?? '',
    ],
  );
  return rows.map(rowToKey);
}
