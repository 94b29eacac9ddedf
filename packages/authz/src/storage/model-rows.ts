import type { Sql } from '@gatehouse/core';
import type { AuthorizationModel } from '../model/model-types.ts';

export interface ModelRecord {
  id: string;
  model: AuthorizationModel;
  createdAt: Date;
}

/**
 * A store's authorization models, in `authz_models`: written once, never changed. Model ids are
 * ULIDs, so the newest is the greatest id.
 */
export interface ModelRows {
  writeModel(storeId: string, id: string, model: AuthorizationModel): Promise<ModelRecord>;
  readModel(storeId: string, id: string): Promise<ModelRecord | undefined>;
  latestModelId(storeId: string): Promise<string | undefined>;
  /** Newest first; `before` is the last id of the previous page. */
  listModels(storeId: string, pageSize: number, before: string | undefined): Promise<ModelRecord[]>;
}

const modelRow = (r: { id: string; model: AuthorizationModel; created_at: Date }): ModelRecord => ({
  id: r.id,
  model: r.model,
  createdAt: r.created_at,
});

export function modelRows(sql: Sql): ModelRows {
  return {
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
  };
}
