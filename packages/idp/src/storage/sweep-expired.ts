import type { Sql } from '@gatehouse/core';

/**
 * Delete expired rows: oidc-provider's models (never returned once past `expires_at`, see
 * adapter.ts) and the JWT access-token records (jwt-access-tokens.ts). Run periodically by index.ts.
 */
export async function sweepExpired(sql: Sql): Promise<void> {
  await sql.query('delete from idp_oidc_models where expires_at <= now()');
  await sql.query('delete from idp_jwt_access_tokens where expires_at <= now()');
}
