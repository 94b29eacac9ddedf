import type { MiddlewareHandler } from 'hono';
import type { CallerEnv } from '../../shared/src/hono-caller.ts';
import { shopErrors } from './errors.ts';

/** A person (session or user token), not a service token. */
export const requireUser: MiddlewareHandler<CallerEnv> = async (c, next) => {
  if (c.get('principal').kind !== 'user') throw shopErrors.create('SHOP_USER_REQUIRED');
  await next();
};

/**
 * A state-changing request that authenticates with the session cookie must come from the shop's own
 * origin: SameSite=Lax already keeps the cookie off cross-site POSTs in browsers, and this refuses
 * what a sibling site or an older browser could still send. Requests with a bearer token (no
 * ambient credential) and requests without `Origin` (curl, other services) are not browser forms.
 */
export function sameOriginForCookies(publicUrl: string): MiddlewareHandler<CallerEnv> {
  const own = new URL(publicUrl).origin;
  return async (c, next) => {
    if (c.req.header('authorization') === undefined) {
      const origin = c.req.header('origin');
      if ((origin !== undefined && origin !== own) || c.req.header('sec-fetch-site') === 'cross-site') {
        throw shopErrors.create('SHOP_CROSS_SITE_REQUEST');
      }
    }
    await next();
  };
}
