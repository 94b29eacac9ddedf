import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export const BENCH_ISSUER = 'http://bench.gatehouse.test/auth';
export const BENCH_AUDIENCE = 'http://bench.gatehouse.test';

/** A fresh ES256 key and one user access token (RFC 9068 shape, as the identity provider issues). */
export async function benchToken(): Promise<{ token: string; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'ES256', use: 'sig' };
  const token = await new SignJWT({
    client_id: 'bench-client',
    scope: 'openid products:read',
    roles: ['customer'],
    username: 'bench-user',
    sid: randomUUID(),
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'bench-1' })
    .setIssuer(BENCH_ISSUER)
    .setAudience(BENCH_AUDIENCE)
    .setSubject('user-42')
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  return { token, publicJwk };
}
