import { randomUUID } from 'node:crypto';
import { type CryptoKey, type JWK, type KeyObject, SignJWT } from 'jose';

export type ClientCredentials =
  | { clientSecret: string }
  | {
      privateKey: JWK | CryptoKey | KeyObject;
      kid: string;
      alg?: 'ES256' | 'EdDSA' | 'Ed25519' | 'RS256' | 'PS256';
    };

/** The `client_assertion` lifetime: one token request, with room for clock skew. */
const ASSERTION_TTL_SEC = 60;

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before the Basic encoding. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

/**
 * Headers and form fields that authenticate the client at the token endpoint:
 * `client_secret_basic` (RFC 6749 §2.3.1) or `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9).
 * Written by hand because the sdk stays on jose and undici; the JWT itself is jose's.
 */
export async function clientAuthentication(
  clientId: string,
  credentials: ClientCredentials,
  audience: string,
): Promise<{ headers: Record<string, string>; fields: Record<string, string> }> {
  if ('clientSecret' in credentials) {
    const basic = Buffer.from(`${formEncode(clientId)}:${formEncode(credentials.clientSecret)}`).toString(
      'base64',
    );
    return { headers: { authorization: `Basic ${basic}` }, fields: {} };
  }
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: credentials.alg ?? 'ES256', kid: credentials.kid, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + ASSERTION_TTL_SEC)
    .sign(credentials.privateKey);
  return {
    headers: {},
    fields: {
      client_id: clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    },
  };
}
