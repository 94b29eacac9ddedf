import type { Logger } from '@gatehouse/core';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { endedSessionUid } from '../protocol/oidc-provider-internals.ts';
import type { RevocationPublisher } from './revocation-publisher.ts';

/**
 * Revoke an OIDC session's `sid` when the session ends, so gateways drop every access token that
 * carries it (docs/contracts.md: revocation by sid). oidc-provider revokes the grants of a logout
 * itself (their `jti`s are published through the adapter), but tokens of grants that outlive the
 * logout, and tokens derived by token exchange, carry the `sid` too.
 *
 * Every end of a session in oidc-provider goes through the end_session confirmation (RP-initiated
 * logout, and a login as another account, which oidc-provider turns into a logout first); a
 * session is ended there exactly when it is `destroyed`. The adapter's Session `destroy` is not the
 * place: oidc-provider also destroys the old row when it only renames a live session (same uid).
 * Runs after the handler and before the response leaves, so the revocation is out when the user
 * sees the signed-out page.
 */
export function logoutRevocationMiddleware(options: {
  revocations: RevocationPublisher;
  /** Seconds after which every token issued up to now has expired (access-token TTL + clock skew). */
  tokenLifetimeSeconds: number;
  logger: Logger;
}) {
  return async function revokeEndedSession(ctx: KoaContextWithOIDC, next: () => Promise<unknown>) {
    await next();
    if (ctx.oidc?.route !== 'end_session_confirm') return;
    const sid = endedSessionUid(ctx);
    if (sid === undefined) return;
    const expiresAt = Math.floor(Date.now() / 1000) + options.tokenLifetimeSeconds;
    await options.revocations.revoke([{ kind: 'sid', value: sid, expiresAt }]);
    options.logger.info({ event: 'oidc session ended' }, 'session id revoked');
  };
}
