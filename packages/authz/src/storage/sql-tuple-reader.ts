import type { Sql } from '@gatehouse/core';
import { type ParsedUser, parseUser, type TupleKey } from '../tuple-key.ts';
import { rowToKey, type TupleRow, tupleColumnNames } from './tuple-row.ts';
import type { TupleReader } from './tuple-reader.ts';

/**
 * One request's reads on the SQL storage, batched. The engine walks a relation's rewrite as a tree
 * whose independent branches run at the same time: the direct tuples, the computed relations and the
 * `x from parent` edges of one object, the parents met on one level of a folder tree, the usersets of
 * a group. Every read those branches ask for before the event loop turns goes to the database as one
 * statement (the keys as arrays, joined on the tuples' primary key or on the by-user index), so a
 * check costs about one round trip per level of its tree instead of one per read, and the pool is not
 * flooded with small statements that queue behind each other.
 */
export function createSqlTupleReader(sql: Sql, storeId: string): TupleReader {
  const byObject = batcher<ObjectRead>((reads) => readByObject(sql, storeId, reads));
  const byUser = batcher<string>((users) => readByUser(sql, storeId, users));
  return {
    readForCheck: (objectType, objectId, relation, user) =>
      byObject({ objectType, objectId, relation, forUser: user }),
    readRelation: (objectType, objectId, relation) => byObject({ objectType, objectId, relation }),
    tuplesByUser: (user) => byUser(user),
  };
}

/** Keys one statement reads at most; a larger batch is split. */
const maxKeysPerStatement = 200;

const selected = tupleColumnNames.map((c) => `t.${c}`).join(', ');

interface ObjectRead {
  objectType: string;
  objectId: string;
  relation: string;
  /**
   * Only the tuples that can decide a check for this user (itself, its type's wildcard, usersets);
   * every tuple when absent (sent as an empty user type, which no user has).
   */
  forUser?: ParsedUser;
}

/**
 * Collects the keys asked until the event loop turns: the reads that one statement's answer unlocks
 * are asked in a cascade of microtasks, and `setImmediate` runs after all of them.
 */
function batcher<K>(load: (keys: K[]) => Promise<TupleKey[][]>): (key: K) => Promise<TupleKey[]> {
  let pending: { key: K; resolve(rows: TupleKey[]): void; reject(err: unknown): void }[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    for (let i = 0; i < batch.length; i += maxKeysPerStatement) {
      const chunk = batch.slice(i, i + maxKeysPerStatement);
      load(chunk.map((p) => p.key)).then(
        (results) => {
          for (const [j, p] of chunk.entries()) p.resolve(results[j]!);
        },
        (err: unknown) => {
          for (const p of chunk) p.reject(err);
        },
      );
    }
  };
  return (key) =>
    new Promise<TupleKey[]>((resolve, reject) => {
      pending.push({ key, resolve, reject });
      if (pending.length === 1) setImmediate(flush);
    });
}

async function readByObject(sql: Sql, storeId: string, reads: ObjectRead[]): Promise<TupleKey[][]> {
  const rows = await sql.query<TupleRow & { k: number }>(
    `select k.k, ${selected}
     from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
            with ordinality as k(object_type, object_id, relation, u_type, u_id, u_relation, k)
     join authz_tuples t on t.store_id = $1 and t.object_type = k.object_type and t.object_id = k.object_id
       and t.relation = k.relation
     where k.u_type = '' or t.user_relation <> ''
        or (t.user_type = k.u_type and t.user_id = k.u_id and t.user_relation = k.u_relation)
        or (k.u_relation = '' and t.user_type = k.u_type and t.user_id = '*')
     order by k.k, t.user_type, t.user_id, t.user_relation`,
    [
      storeId,
      reads.map((r) => r.objectType),
      reads.map((r) => r.objectId),
      reads.map((r) => r.relation),
      reads.map((r) => r.forUser?.type ?? ''),
      reads.map((r) => r.forUser?.id ?? ''),
      reads.map((r) => r.forUser?.relation ?? ''),
    ],
  );
  return byKey(rows, reads.length);
}

async function readByUser(sql: Sql, storeId: string, users: string[]): Promise<TupleKey[][]> {
  const parsed = users.map((u) => parseUser(u)!);
  const rows = await sql.query<TupleRow & { k: number }>(
    `select k.k, ${selected}
     from unnest($2::text[], $3::text[], $4::text[]) with ordinality as k(user_type, user_id, user_relation, k)
     join authz_tuples t on t.store_id = $1 and t.user_type = k.user_type and t.user_id = k.user_id
       and t.user_relation = k.user_relation
     order by k.k, t.object_type, t.relation, t.object_id`,
    [storeId, parsed.map((u) => u.type), parsed.map((u) => u.id), parsed.map((u) => u.relation)],
  );
  return byKey(rows, users.length);
}

function byKey(rows: (TupleRow & { k: number })[], count: number): TupleKey[][] {
  const out: TupleKey[][] = Array.from({ length: count }, () => []);
  for (const row of rows) out[Number(row.k) - 1]!.push(rowToKey(row));
  return out;
}
