import type { IncomingMessage } from 'node:http';
import { mediaTypeOf } from '@gatehouse/core';
import { idpErrors } from '../errors.ts';

/**
 * The cross-site request rule for every state-changing request that a cookie authenticates
 * (the session API's POSTs, the hosted login and consent forms):
 *
 * 1. `Sec-Fetch-Site: cross-site` (sent by every current browser) is refused.
 * 2. An `Origin` header must be one of the allowed origins (the public origin, the origin the
 *    request was addressed to, and `idp.accounts.allowedOrigins`); `Origin: null` is refused.
 * 3. Without `Origin`, a form post (`application/x-www-form-urlencoded`, `multipart/form-data`,
 *    `text/plain` — what an HTML form can send cross-site without a preflight) must carry a
 *    `Referer` from an allowed origin; a JSON request passes, because a browser cannot send
 *    `application/json` cross-site without a CORS preflight, which this server never grants.
 *
 * Browsers send `Origin` on every cross-origin POST, so rule 2 carries the weight; rule 3 keeps
 * non-browser clients (curl, services) working with JSON. The hosted forms add a per-interaction
 * token on top (interactions.ts).
 */
export function assertSameOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): void {
  const refuse = (why: string) => idpErrors.create('IDP_CSRF_REJECTED', `Cross-site request refused: ${why}`);
  if (req.headers['sec-fetch-site'] === 'cross-site') throw refuse('it comes from another site');
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (!allowed.has(origin.toLowerCase())) throw refuse(`origin ${origin.slice(0, 100)} is not allowed`);
    return;
  }
  const type = mediaTypeOf(req);
  if (type === 'application/json') return;
  const referer = req.headers.referer;
  let refererOrigin: string | undefined;
  try {
    refererOrigin = referer ? new URL(referer).origin : undefined;
  } catch {
    refererOrigin = undefined;
  }
  if (!refererOrigin || !allowed.has(refererOrigin)) {
    throw refuse('a form post must carry an Origin or Referer of this site');
  }
}
