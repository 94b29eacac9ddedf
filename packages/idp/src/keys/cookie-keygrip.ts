import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type Keygrip from 'keygrip';

/** How many signatures of the signing key a cookie signer remembers (see `recent` below). */
const REMEMBERED_SIGNATURES = 4096;

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
  const hmac = (data: string, key: KeyObject) => createHmac('sha1', key).update(data).digest('base64url');
  /**
   * The last signatures the signing key made, by signed data: the next request of a login checks the
   * cookie the previous one set (the interaction cookie twice, the resume cookie once), and clearing a
   * cookie signs the same `name=` each time. An HMAC costs the event loop noticeably when its code is
   * out of the CPU caches, as it is between requests. A signature is a function of the data and the
   * key alone, so a remembered one is the one a new computation gives: nothing is accepted that would
   * not be. Bounded (oldest forgotten first); verified data is never added, only what this signer signed.
   */
  const recent = new Map<string, string>();
  const signWithFirst = (data: string): string => {
    const known = recent.get(data);
    if (known !== undefined) return known;
    const signature = hmac(data, prepared[0]!);
    if (recent.size >= REMEMBERED_SIGNATURES) recent.delete(recent.keys().next().value!);
    recent.set(data, signature);
    return signature;
  };
  const index = (data: string, digest: string): number => {
    if (typeof digest !== 'string') return -1;
    const given = Buffer.from(digest);
    for (const [i, key] of prepared.entries()) {
      const expected = Buffer.from((i === 0 && recent.get(data)) || hmac(data, key));
      if (given.length === expected.length && timingSafeEqual(given, expected)) return i;
    }
    return -1;
  };
  return {
    sign: (data: unknown) => signWithFirst(String(data)),
    verify: (data: unknown, digest: string) => index(String(data), digest) > -1,
    index: (data: unknown, digest: string) => index(String(data), digest),
  };
}
