import { type Principal, parseBearer, SESSION_COOKIE, sdkError, type Verifier } from '@gatehouse/sdk';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { shopErrors } from './errors.ts';

/** Hono variables of an authenticated request: `c.get('principal')`. */
export interface CallerEnv {
  Variables: { principal: Principal };
}

/**
 * Who is calling: a bearer access token, else the first-party session cookie — the two credentials
 * the gateway accepts, passed on by routes with `forwardToken: true`. The service verifies them
 * itself with the sdk verifier (keys from the JWKS, no call to the identity provider), so a request
 * that reached it without the gateway proves nothing by bare identity headers. The sdk's guards read
 * bearer tokens only; this middleware adds the session cookie of the first-party session API.
 */
export function authenticateCaller(verifier: Verifier): MiddlewareHandler<CallerEnv> {
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    let principal: Principal;
    if (authorization !== undefined) {
      principal = await verifier.verifyAccessToken(parseBearer(authorization));
    } else {
      const session = getCookie(c, SESSION_COOKIE);
      if (!session) throw sdkError('SDK_TOKEN_MISSING');
      principal = await verifier.verifySessionToken(session);
    }
    c.set('principal', principal);
    await next();
  };
}

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
