import type { Sql } from '@gatehouse/core';
import { type ChangeFeed, changeFeed } from './change-feed.ts';
import { type ModelRows, modelRows } from './model-rows.ts';
import { sqlTupleReader } from './sql-tuple-reader.ts';
import { type StoreRows, storeRows } from './store-rows.ts';
import { type TuplePages, tuplePages } from './tuple-pages.ts';
import type { TupleReader } from './tuple-reader.ts';
import { type TupleWrites, tupleWrites } from './tuple-writes.ts';

/**
 * The permission engine's storage on the SQL layer (PGlite or PostgreSQL, the same statements):
 * stores, immutable models, tuples and the change feed, in the tables of `migrations/0001_authz.sql`.
 * Every statement a check runs is a lookup on the tuples' primary key prefix
 * (store, object_type, object_id, relation), so its cost does not grow with the store; a chain read
 * is one recursive statement of such lookups.
 */
export interface AuthzStorage extends StoreRows, ModelRows, TupleWrites, TuplePages, ChangeFeed {
  /** The reads of one store's checks and lists (the engine memoizes them per request). */
  reader(storeId: string): TupleReader;
}

export function createSqlStorage(sql: Sql): AuthzStorage {
  return {
    ...storeRows(sql),
    ...modelRows(sql),
    ...tupleWrites(sql),
    ...tuplePages(sql),
    ...changeFeed(sql),
    reader: (storeId) => sqlTupleReader(sql, storeId),
  };
}
