import type { Sql } from '@gatehouse/core';
import { errors } from 'oidc-provider';
import { currentUnitOfWork } from './unit-of-work.ts';

/**
 * oidc-provider does not store JWT access tokens; the ones issued in a grant are recorded in
 * `idp_jwt_access_tokens`, so that revoking the grant (grant-revoker.ts) revokes them too.
 */

/**
 * Record a JWT access token issued within a grant. Refuses (invalid_grant) when the grant is gone:
 * a token issued by a redemption that lost a race against a reuse detection must not outlive it.
 * In a token request the record is one of the request's writes (unit-of-work.ts).
 */
export async function recordJwtAccessToken(
  sql: Sql,
  token: { jti: string; grantId: string; sid?: string; clientId: string; accountId?: string; exp: number },
): Promise<void> {
  const text = `insert into idp_jwt_access_tokens (jti, grant_id, sid, client_id, account_id, expires_at)
     select $1, $2, $3, $4, $5, to_timestamp($6)
     where exists (select 1 from idp_oidc_models where model = 'Grant' and id = $2)
     returning jti`;
  const params = [token.jti, token.grantId, token.sid, token.clientId, token.accountId, token.exp];
  const write = { text, params, mustReturnRow: { refused: () => {}, description: 'grant not found' } };
  if (currentUnitOfWork()?.deferTokenWrite(write)) return;
  const rows = await sql.query(text, params);
  if (rows.length === 0) throw new errors.InvalidGrant('grant not found');
}
