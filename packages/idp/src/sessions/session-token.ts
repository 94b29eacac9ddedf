import { randomUUID } from 'node:crypto';
import { SESSION_AUDIENCE, SESSION_COOKIE, SESSION_TOKEN_TYPE } from '@gatehouse/sdk';
import { type JWTPayload, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';
import { lowSCompactJws } from '../keys/ecdsa-signature.ts';
import { acrOf } from '../mfa/acr.ts';

/**
 * The first-party session token (docs/contracts.md): a JWT signed with the identity provider's
 * active key, header `typ: gh-session+jwt`, claims `iss`, `aud: "gatehouse-session"`, `sub`, `sid`,
 * `jti`, `username`, `roles`, `amr` and `acr` (how the session's sign-in went, as in ID tokens),
 * `iat`, `exp`. The gateway verifies it locally like an access token.
 */
export { SESSION_AUDIENCE, SESSION_COOKIE };

export interface SessionSigningKeys {
  signingKey(): Promise<{ kid: string; alg: string; key: CryptoKey }>;
  verifier(): JWTVerifyGetKey;
}

export interface SessionClaims extends JWTPayload {
  sub: string;
  sid: string;
  jti: string;
  username: string;
  roles: string[];
  /** RFC 8176 methods of the sign-in that started the session (absent in tokens signed before it was added). */
  amr?: string[];
  acr?: string;
  exp: number;
}

export async function signSessionToken(
  keys: SessionSigningKeys,
  input: {
    issuer: string;
    sub: string;
    sid: string;
    username: string;
    roles: string[];
    amr: string[];
    expiresAt: Date;
  },
): Promise<string> {
  const { kid, alg, key } = await keys.signingKey();
  const token = await new SignJWT({
    sid: input.sid,
    username: input.username,
    roles: input.roles,
    amr: input.amr,
    acr: acrOf(input.amr),
  })
    .setProtectedHeader({ alg, kid, typ: SESSION_TOKEN_TYPE })
    .setIssuer(input.issuer)
    .setAudience(SESSION_AUDIENCE)
    .setSubject(input.sub)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(Math.floor(input.expiresAt.getTime() / 1000))
    .sign(key);
  // WebCrypto signs with either half of s; the identity provider gives each token one spelling.
  return lowSCompactJws(token, alg);
}

/** The claims of a valid session token from this issuer, or undefined (any failure). */
export async function verifySessionToken(
  keys: SessionSigningKeys,
  token: string,
  options: { issuer: string; clockToleranceSeconds: number },
): Promise<SessionClaims | undefined> {
  if (token.length > 8192) return undefined;
  try {
    const { payload } = await jwtVerify(token, keys.verifier(), {
      issuer: options.issuer,
      audience: SESSION_AUDIENCE,
      typ: SESSION_TOKEN_TYPE,
      algorithms: ['ES256', 'EdDSA'],
      clockTolerance: options.clockToleranceSeconds,
      requiredClaims: ['sub', 'sid', 'jti', 'exp', 'iat'],
    });
    if (typeof payload['sid'] !== 'string' || typeof payload['username'] !== 'string') return undefined;
    if (!Array.isArray(payload['roles'])) return undefined;
    return payload as SessionClaims;
  } catch {
    return undefined;
  }
}

export function sessionCookie(value: string, options: { maxAgeSeconds: number; secure: boolean }): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${options.maxAgeSeconds}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}
