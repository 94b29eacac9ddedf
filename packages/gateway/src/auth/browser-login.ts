import type { IncomingMessage } from 'node:http';
import type { GatehouseError } from '@gatehouse/core';
import { safeReturnTo } from '../bff/return-to.ts';
import type { RouteConfig } from '../contracts.ts';

/**
 * Where to send a person instead of answering 401, or undefined to answer 401 as usual.
 *
 * Only a route marked `browser: true` (a page for people), only a GET or HEAD (a redirect would turn
 * any other method into a GET and lose its body), and only when the request accepts `text/html`: a
 * script or an API client on the same route still gets the 401 JSON it can act on. The way back is the
 * request's own target, checked as any return path is (return-to.ts), so the login comes back exactly
 * where the person was.
 */
export function browserLoginLocation(
  req: IncomingMessage,
  route: RouteConfig | undefined,
  err: GatehouseError,
  loginPath: string,
): string | undefined {
  if (err.status !== 401 || route?.browser !== true) return undefined;
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  if (!(req.headers.accept ?? '').includes('text/html')) return undefined;
  const returnTo = safeReturnTo(req.url);
  if (returnTo === undefined) return undefined;
  // A route with a client of its own signs the person in as that client (bff.ts).
  const client = route.bffClient === undefined ? '' : `&client=${encodeURIComponent(route.bffClient)}`;
  return `${loginPath}?return_to=${encodeURIComponent(returnTo)}${client}`;
}
