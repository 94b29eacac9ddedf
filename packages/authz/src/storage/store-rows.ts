import type { Sql } from '@gatehouse/core';

export interface StoreRecord {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Stores, in `authz_stores`; deleting one deletes its models, tuples and changes with it. */
export interface StoreRows {
  createStore(id: string, name: string): Promise<StoreRecord>;
  getStore(id: string): Promise<StoreRecord | undefined>;
  /** Stores by id; `after` is the last id of the previous page. */
  listStores(pageSize: number, after: string | undefined, name?: string): Promise<StoreRecord[]>;
  deleteStore(id: string): Promise<boolean>;
}

const storeRow = (r: { id: string; name: string; created_at: Date; updated_at: Date }): StoreRecord => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export function storeRows(sql: Sql): StoreRows {
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
  };
}
