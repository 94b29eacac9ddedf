import type { Sql, SqlTx } from '@gatehouse/core';
import { authzErrors } from '../errors.ts';
import type { AuthorizationModel } from '../model/model-types.ts';
import { parseUser, splitObject, type TupleKey, tupleString } from '../tuple-key.ts';
import type { ChainRead, ChainRequest, TupleReader } from './tuple-reader.ts';

/**
 * The permission engine's storage on the SQL layer (PGlite or PostgreSQL, the same statements):
 * stores, immutable models, tuples and the change feed, in the tables of `migrations/0001_authz.sql`.
 * Every statement a check runs is a lookup on the tuples' primary key prefix
 * (store, object_type, object_id, relation), so its cost does not grow with the store; a chain read
 * is one recursive statement of such lookups.
 */
export interface StoreRecord {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ModelRecord {
  id: string;
  model: AuthorizationModel;
  createdAt: Date;
}

export interface StoredTuple extends TupleKey {
  timestamp: Date;
}

export interface ChangeRecord {
  seq: number;
  operation: 'write' | 'delete';
  tuple: TupleKey;
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

export interface WriteOptions {
  onDuplicate: 'error' | 'ignore';
  onMissing: 'error' | 'ignore';
}

export interface AuthzStorage {
  createStore(id: string, name: string): Promise<StoreRecord>;
  getStore(id: string): Promise<StoreRecord | undefined>;
  /** Stores by id; `after` is the last id of the previous page. */
  listStores(pageSize: number, after: string | undefined, name?: string): Promise<StoreRecord[]>;
  deleteStore(id: string): Promise<boolean>;
  writeModel(storeId: string, id: string, model: AuthorizationModel): Promise<ModelRecord>;
  readModel(storeId: string, id: string): Promise<ModelRecord | undefined>;
  latestModelId(storeId: string): Promise<string | undefined>;
  /** Newest first; `before` is the last id of the previous page. */
  listModels(storeId: string, pageSize: number, before: string | undefined): Promise<ModelRecord[]>;
  /** Applies deletes then writes in one transaction; resolves to the change feed position after it. */
  writeTuples(
    storeId: string,
    writes: TupleKey[],
    deletes: TupleKey[],
    options: WriteOptions,
  ): Promise<number>;
  readTuples(
    storeId: string,
    filter: TupleFilter,
    pageSize: number,
    after: TupleSortKey | undefined,
  ): Promise<StoredTuple[]>;
  readChanges(
    storeId: string,
    objectType: string | undefined,
    pageSize: number,
    afterSeq: number,
    startTime: Date | undefined,
  ): Promise<ChangeRecord[]>;
  /** The position of the store's newest change (0 when it has none). */
  currentSeq(storeId: string): Promise<number>;
  reader(storeId: string): TupleReader;
}

interface TupleRow {
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

/**
 * Objects one chain read reaches at most: a group nesting thousands of groups is read in pieces (the
 * engine reads past the piece as it goes), not as one unbounded answer.
 */
const chainObjectsMax = 500;

const tupleColumns =
  'object_type, object_id, relation, user_type, user_id, user_relation, condition_name, condition_context';

function rowToKey(r: TupleRow): TupleKey {
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

function keyParams(t: TupleKey): [string, string, string, string, string, string] {
  const o = splitObject(t.object);
  const u = parseUser(t.user)!;
  return [o.type, o.id, t.relation, u.type, u.id, u.relation];
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

export function createSqlStorage(sql: Sql): AuthzStorage {
  const storeRow = (r: { id: string; name: string; created_at: Date; updated_at: Date }): StoreRecord => ({
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
  const modelRow = (r: { id: string; model: AuthorizationModel; created_at: Date }): ModelRecord => ({
    id: r.id,
    model: r.model,
    createdAt: r.created_at,
  });

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

  return {
    async createStore(id, name) {
      const rows = await sql.query<{ id: string; name: string; created_at: Date; updated_at: Date }>(
        'insert into authz_stores (id, name) values ($1, $2) returning id, name, created_at, updated_at',
        [id, name],
      );
      return storeRow(rows[0]!);
    },
    async getStore(id) {
      const rows = await sql.query<{ id: string; name: string; created_at: Date; updated_at: Date }>(
        'select id, name, created_at, updated_at from authz_stores where id = $1',
        [id],
      );
      return rows[0] ? storeRow(rows[0]) : undefined;
    },
    async listStores(pageSize, after, name) {
      const rows = await sql.query<{ id: string; name: string; created_at: Date; updated_at: Date }>(
        `select id, name, created_at, updated_at from authz_stores
         where ($1::text is null or id > $1) and ($2::text is null or name = $2) order by id limit $3`,
        [after ?? null, name ?? null, pageSize],
      );
      return rows.map(storeRow);
    },
    async deleteStore(id) {
      const rows = await sql.query('delete from authz_stores where id = $1 returning id', [id]);
      return rows.length > 0;
    },
    async writeModel(storeId, id, model) {
      const rows = await sql.query<{ id: string; model: AuthorizationModel; created_at: Date }>(
        `insert into authz_models (store_id, id, schema_version, model) values ($1, $2, $3, $4::jsonb)
         returning id, model, created_at`,
        [storeId, id, model.schema_version, JSON.stringify(model)],
      );
      return modelRow(rows[0]!);
    },
    async readModel(storeId, id) {
      const rows = await sql.query<{ id: string; model: AuthorizationModel; created_at: Date }>(
        'select id, model, created_at from authz_models where store_id = $1 and id = $2',
        [storeId, id],
      );
      return rows[0] ? modelRow(rows[0]) : undefined;
    },
    async latestModelId(storeId) {
      const rows = await sql.query<{ id: string }>(
        'select id from authz_models where store_id = $1 order by id desc limit 1',
        [storeId],
      );
      return rows[0]?.id;
    },
    async listModels(storeId, pageSize, before) {
      const rows = await sql.query<{ id: string; model: AuthorizationModel; created_at: Date }>(
        `select id, model, created_at from authz_models where store_id = $1 and ($2::text is null or id < $2)
         order by id desc limit $3`,
        [storeId, before ?? null, pageSize],
      );
      return rows.map(modelRow);
    },
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
    reader(storeId) {
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
    },
  };
}
