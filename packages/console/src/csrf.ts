import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { consoleErrors } from './errors.ts';

/**
 * Cross-site request forgery defence for every form post, two independent checks:
 * - the browser's own word: an `Origin` other than this site, or `Sec-Fetch-Site: cross-site`, is
 *   refused (CONSOLE_CROSS_SITE);
 * - a token in each form, an HMAC of the signed-in person's subject and session under a key only
 *   this process holds, so another site can neither read nor forge it (CONSOLE_CSRF_INVALID).
 * The session cookie itself never reaches the console (the gateway keeps it), so a cookie-based
 * double submit is not available; the token is bound to the session the gateway vouched for instead.
 */
export interface Csrf {
  tokenFor(binding: string): string;
  check(req: IncomingMessage, binding: string, sent: string | undefined): void;
}

export function createCsrf(publicOrigin: string, key: Buffer = randomBytes(32)): Csrf {
  const tokenFor = (binding: string) => createHmac('sha256', key).update(binding).digest('base64url');
  return {
    tokenFor,
    check(req, binding, sent) {
      const origin = req.headers.origin;
      if (
        (origin !== undefined && origin !== publicOrigin) ||
        req.headers['sec-fetch-site'] === 'cross-site'
      ) {
        throw consoleErrors.create('CONSOLE_CROSS_SITE');
      }
      const expected = Buffer.from(tokenFor(binding));
      const given = Buffer.from(sent ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw consoleErrors.create('CONSOLE_CSRF_INVALID');
      }
    },
  };
}
