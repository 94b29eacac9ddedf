import { type Principal, parseBearer, SESSION_COOKIE, sdkError, type Verifier } from '@gatehouse/sdk';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';

/** Hono variables of an authenticated request: `c.get('principal')`, as the sdk's Hono guard reads it. */
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
