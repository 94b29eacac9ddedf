import { type Logger, REVOCATIONS_CHANNEL, revokedKey } from '@gatehouse/core';
import { createRevocationFeed, parseRevocation, type RevocationFeed, type Verifier } from '@gatehouse/sdk';
import type { Principal, SharedState } from '../contracts.ts';

function issuedAt(p: Principal): number {
  const iat = p.claims.iat;
  return typeof iat === 'number' && Number.isFinite(iat) ? iat : 0;
}

/** A client or subject key holds its not-before time: tokens issued earlier are revoked. */
function revokedBefore(value: string | null, p: Principal): boolean {
  return value !== null && issuedAt(p) < Number(value);
}

/**
 * The verifier's `isRevoked` hook: asked once per token before it is cached, so a gateway that
 * started after a revocation was published still refuses the token. A state error propagates and
 * the verifier fails closed (SDK_REVOCATION_UNAVAILABLE).
 */
export function revokedInState(state: Pick<SharedState, 'get'>): (p: Principal) => Promise<boolean> {
  return async (p) => {
    const [byJti, bySid, byClient, bySub] = await Promise.all([
      state.get(revokedKey('jti', p.tokenId)),
      p.sessionId === undefined ? Promise.resolve(null) : state.get(revokedKey('sid', p.sessionId)),
      p.clientId === '' ? Promise.resolve(null) : state.get(revokedKey('client', p.clientId)),
      state.get(revokedKey('sub', p.subject)),
    ]);
    return byJti !== null || bySid !== null || revokedBefore(byClient, p) || revokedBefore(bySub, p);
  };
}

/**
 * `isRevoked` with the durable feed configured: the state (Redis) is asked first, since it holds a
 * revocation the moment it is made. When the state does not answer (Redis down), a feed caught up
 * within `maxAgeMs` holds every revocation stored in SQL, the source of truth (a logout is answered
 * only once stored there), and the verifier has already checked the token against it: the token is
 * accepted rather than refusing every new session for the length of the outage. A feed staler than
 * that (the identity provider unreachable too) fails closed as before.
 */
export function revokedInStateOrFeed(
  inState: (p: Principal) => Promise<boolean>,
  feed: Pick<RevocationFeed, 'syncedAt'>,
  maxAgeMs: number,
  logger: Logger,
): (p: Principal) => Promise<boolean> {
  let fellBack = false;
  return async (p) => {
    try {
      const revoked = await inState(p);
      fellBack = false;
      return revoked;
    } catch (err) {
      const at = feed.syncedAt;
      if (at === undefined || Date.now() - at > maxAgeMs) throw err;
      if (!fellBack)
        logger.warn(
          { err: (err as Error).message },
          'state unavailable: revocations checked against the feed',
        );
      fellBack = true;
      return false;
    }
  };
}

/**
 * Feed revocations published by the identity provider into the verifier, which drops cached
 * tokens and refuses them until they expire. `target` is read on every message so a reload that
 * replaces the verifier keeps receiving them. `onResubscribed` runs whenever the subscription is
 * live again after its connection was lost (the caller catches up from the durable feed).
 * Returns the unsubscribe function.
 */
export async function subscribeRevocations(
  state: Pick<SharedState, 'subscribe'>,
  target: () => Pick<Verifier, 'revoke'>,
  logger: Logger,
  onResubscribed?: () => void,
): Promise<() => Promise<void>> {
  return state.subscribe(
    REVOCATIONS_CHANNEL,
    (message) => {
      let r: ReturnType<typeof parseRevocation>;
      try {
        r = parseRevocation(JSON.parse(message));
      } catch {
        r = undefined;
      }
      if (!r) {
        logger.warn({ channel: REVOCATIONS_CHANNEL }, 'ignored a malformed revocation message');
        return;
      }
      target().revoke(r);
      logger.info({ kind: r.kind, expiresAt: r.expiresAt }, 'token revoked');
    },
    onResubscribed,
  );
}

/**
 * The durable side of revocation: the identity provider's feed, read before the gateway serves
 * tokens, after every reconnect of the subscription, and every `pollIntervalMs`.
 */
export function followRevocationFeed(
  options: { url: string; token?: string | undefined; pollIntervalMs: number },
  target: () => Pick<Verifier, 'revoke'>,
  logger: Logger,
): RevocationFeed {
  let failing = false;
  return createRevocationFeed({
    url: options.url,
    ...(options.token ? { token: options.token } : {}),
    target,
    pollIntervalMs: options.pollIntervalMs,
    onError: (err) => {
      // Logged once per outage, not on every poll.
      if (!failing)
        logger.warn({ err: err.message, cause: String(err.cause ?? '') }, 'revocation feed unreachable');
      failing = true;
    },
    onSynced: () => {
      if (failing) logger.info('revocation feed reachable again');
      failing = false;
    },
  });
}
