import type { Logger } from '@gatehouse/core';
import type { Revocation, Verifier } from '@gatehouse/sdk';
import type { Principal, SharedState } from './contracts.ts';

/** Channel and keys fixed in docs/contracts.md ("Tokens and revocation"). */
export const REVOCATION_CHANNEL = 'gatehouse.revocations';

export function revocationKey(kind: 'jti' | 'sid', value: string): string {
  return `gatehouse:revoked:${kind}:${value}`;
}

/**
 * The verifier's `isRevoked` hook: asked once per token before it is cached, so a gateway that
 * started after a revocation was published still refuses the token. A state error propagates and
 * the verifier fails closed (SDK_REVOCATION_UNAVAILABLE).
 */
export function revokedInState(state: Pick<SharedState, 'get'>): (p: Principal) => Promise<boolean> {
  return async (p) => {
    const [byJti, bySid] = await Promise.all([
      state.get(revocationKey('jti', p.tokenId)),
      p.sessionId === undefined ? Promise.resolve(null) : state.get(revocationKey('sid', p.sessionId)),
    ]);
    return byJti !== null || bySid !== null;
  };
}

/** Parse one pub/sub message; anything not exactly `{ kind, value, expiresAt }` is refused. */
function parseRevocation(message: string): Revocation | undefined {
  let m: unknown;
  try {
    m = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (m === null || typeof m !== 'object') return undefined;
  const { kind, value, expiresAt } = m as Record<string, unknown>;
  if (kind !== 'jti' && kind !== 'sid') return undefined;
  if (typeof value !== 'string' || value === '' || value.length > 512) return undefined;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return undefined;
  return { kind, value, expiresAt };
}

/**
 * Feed revocations published by the identity provider into the verifier, which drops cached
 * tokens and refuses them until they expire. `target` is read on every message so a reload that
 * replaces the verifier keeps receiving them. Returns the unsubscribe function.
 */
export async function subscribeRevocations(
  state: Pick<SharedState, 'subscribe'>,
  target: () => Pick<Verifier, 'revoke'>,
  logger: Logger,
): Promise<() => Promise<void>> {
  return state.subscribe(REVOCATION_CHANNEL, (message) => {
    const r = parseRevocation(message);
    if (!r) {
      logger.warn({ channel: REVOCATION_CHANNEL }, 'ignored a malformed revocation message');
      return;
    }
    target().revoke(r);
    logger.info({ kind: r.kind, expiresAt: r.expiresAt }, 'token revoked');
  });
}
