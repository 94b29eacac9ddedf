import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

/**
 * Validation of OpenID Connect Back-Channel Logout tokens (Back-Channel Logout 1.0, section 2.6).
 * openid-client covers the relying party's side of the code flow but not logout tokens, so the
 * checks are listed here, each on a verified JWT from jose:
 *
 * - signed by the identity provider (its JWKS), `typ: logout+jwt`, an asymmetric algorithm;
 * - `iss` is the issuer, `aud` is this client, `iat` recent, `jti` not seen before (replay);
 * - `events` holds the back-channel logout event; there is a `sid` or a `sub`; there is no `nonce`.
 */
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_AGE_SECONDS = 120;

export interface LogoutRequest {
  sub?: string;
  sid?: string;
}

export function createLogoutTokenVerifier(options: { issuer: string; clientId: string; jwksUri: string }) {
  const keys = createRemoteJWKSet(new URL(options.jwksUri));
  const seen = new Map<string, number>();

  function remember(jti: string): boolean {
    const now = Date.now();
    for (const [id, expires] of seen) if (expires < now) seen.delete(id);
    if (seen.has(jti)) return false;
    seen.set(jti, now + MAX_AGE_SECONDS * 2000);
    return true;
  }

  return async function verifyLogoutToken(token: string): Promise<LogoutRequest> {
    const { payload } = await jwtVerify<JWTPayload & Record<string, unknown>>(token, keys, {
      issuer: options.issuer,
      audience: options.clientId,
      typ: 'logout+jwt',
      algorithms: ['ES256', 'EdDSA'],
      maxTokenAge: MAX_AGE_SECONDS,
      requiredClaims: ['iat', 'jti', 'events'],
    });
    const events = payload['events'];
    if (
      typeof events !== 'object' ||
      events === null ||
      typeof (events as Record<string, unknown>)[LOGOUT_EVENT] !== 'object'
    ) {
      throw new Error('logout token without the back-channel logout event');
    }
    if ('nonce' in payload) throw new Error('logout token with a nonce');
    const sid = typeof payload['sid'] === 'string' ? payload['sid'] : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    if (sid === undefined && sub === undefined) throw new Error('logout token names neither sid nor sub');
    if (!remember(payload.jti!)) throw new Error('logout token replayed');
    return { ...(sid === undefined ? {} : { sid }), ...(sub === undefined ? {} : { sub }) };
  };
}
