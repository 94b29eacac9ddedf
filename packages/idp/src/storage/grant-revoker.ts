import type { Sql } from '@gatehouse/core';
import type { RevocationPublisher } from '../revocation/revocation-publisher.ts';

/**
 * Revoking a whole grant: its rows in `idp_oidc_models` (the grant and every code, token and
 * request issued in it) and the JWT access tokens recorded for it (jwt-access-tokens.ts), whose
 * `jti`s go to the revocation publisher, as a JWT cannot be deleted where it was sent.
 */

export interface GrantRevoker {
  /** Delete every artifact of a grant and revoke the JWT access tokens issued in it. */
  revokeGrant(grantId: string): Promise<void>;
  /** Revoke the JWT access tokens recorded for a grant (publishes their jtis). */
  revokeGrantJwts(grantId: string): Promise<void>;
}

export function createGrantRevoker(sql: Sql, revocations: RevocationPublisher): GrantRevoker {
  async function revokeGrantJwts(grantId: string): Promise<void> {
    const rows = await sql.query<{ jti: string; expires_at: Date }>(
      'delete from idp_jwt_access_tokens where grant_id = $1 returning jti, expires_at',
      [grantId],
    );
    await revocations.revoke(
      rows.map((r) => ({
        kind: 'jti' as const,
        value: r.jti,
        expiresAt: Math.ceil(r.expires_at.getTime() / 1000),
      })),
    );
  }
  return {
    revokeGrantJwts,
    async revokeGrant(grantId) {
      await sql.query(`delete from idp_oidc_models where grant_id = $1 or (model = 'Grant' and id = $1)`, [
        grantId,
      ]);
      await revokeGrantJwts(grantId);
    },
  };
}
