import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { sdkError } from './errors.ts';

const FETCH_TIMEOUT_MS = 5_000;

function isKeyMatchError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS';
}

/**
 * Keys from the issuer's JWKS: jose's remote set (cached, refetched on an unknown `kid` at most once
 * per `cooldownMs`). The `kid` only selects among the fetched keys. When a refetch fails (identity
 * provider down), the keys fetched last keep verifying so that local verification outlives an outage;
 * with no keys at all the answer is SDK_JWKS_UNAVAILABLE.
 */
export function remoteKeySource(jwksUri: string, cooldownMs: number): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(jwksUri), {
    cooldownDuration: cooldownMs,
    timeoutDuration: FETCH_TIMEOUT_MS,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (isKeyMatchError(err)) throw err;
      const last = remote.jwks();
      if (last !== undefined) return createLocalJWKSet(last)(header, token);
      throw sdkError('SDK_JWKS_UNAVAILABLE', undefined, { cause: err });
    }
  };
}
