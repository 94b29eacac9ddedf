import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type Keygrip from 'keygrip';

/**
 * The cookie signer for oidc-provider (`provider.keys`): the signatures of the `keygrip` package
 * Koa uses by default (HMAC-SHA1 of `name=value`, base64url without padding, the first key signs,
 * any key verifies), byte for byte, so cookies signed by either stay valid across replicas and
 * versions. keygrip imports its key again for every signature and compares through two more HMACs
 * and 32 random bytes (tsscmp); a login checks and signs about twenty cookies. Here the keys are
 * imported once and a signature is compared with `timingSafeEqual` (its length is public).
 */
export function cookieKeygrip(keys: readonly string[]): Keygrip {
  if (keys.length === 0) throw new Error('cookie signing needs at least one key');
  const prepared: KeyObject[] = keys.map((key) => createSecretKey(Buffer.from(key, 'utf8')));
  const sign = (data: string, key: KeyObject) => createHmac('sha1', key).update(data).digest('base64url');
  const index = (data: string, digest: string): number => {
    if (typeof digest !== 'string') return -1;
    const given = Buffer.from(digest);
    for (const [i, key] of prepared.entries()) {
      const expected = Buffer.from(sign(data, key));
      if (given.length === expected.length && timingSafeEqual(given, expected)) return i;
    }
    return -1;
  };
  return {
    sign: (data: unknown) => sign(String(data), prepared[0]!),
    verify: (data: unknown, digest: string) => index(String(data), digest) > -1,
    index: (data: unknown, digest: string) => index(String(data), digest),
  };
}
