import { accountServices, accountsConfigOf } from '../accounts/account-services.ts';
import type { IdpRuntime } from '../index.ts';

/**
 * End everything an account holds (the admin API disabling or deleting a user, a password reset):
 * every token issued to its `sub` so far (access tokens and first-party session tokens) is revoked through the
 * durable revocation path (every gateway, introspection), its first-party sessions end, and its OAuth
 * grants go with their refresh tokens.
 */
export async function revokeEverythingOf(
  idp: IdpRuntime,
  userId: string,
  reason: string,
  actor: string,
): Promise<void> {
  const { sessions } = accountServices(idp);
  const tolerance = idp.config.clockToleranceSeconds;
  const lifetime =
    Math.max(idp.config.accessTokenTtlSeconds, accountsConfigOf(idp).session.ttlSeconds) + tolerance;
  // One second ahead: a token issued in the same second as the change is named too.
  const notBefore = Math.floor(Date.now() / 1000) + 1;
  await idp.revocations.revoke([{ kind: 'sub', value: userId, notBefore, expiresAt: notBefore + lifetime }]);
  await sessions.endAllOf(userId, reason, { actor });
  const grants = await idp.sql.query<{ id: string }>(
    `select id from idp_oidc_models where model = 'Grant' and payload->>'accountId' = $1`,
    [userId],
  );
  for (const g of grants) await idp.grants.revokeGrant(g.id);
}
