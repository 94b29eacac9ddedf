import { type Principal, parseBearer, SESSION_COOKIE, sdkError, type Verifier } from '@gatehouse/sdk';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { beepErrors } from './errors.ts';

/** Hono variables of an authenticated request: `c.get('principal')`, as the sdk's Hono guard reads it. */
export interface CallerEnv {
  Variables: { principal: Principal };
}

/**
 * Who is calling: a bearer access token, else the first-party session cookie, both passed on by the
 * gateway (`forwardToken: true`) and verified here with the sdk verifier, so the service never trusts
 * a request for having reached it. The sdk's guards read bearer tokens only; this adds the cookie.
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

/** The person's name as the permission store knows them (`user:<username>`). */
export function userOf(principal: Principal): string {
  const username = principal.claims['username'];
  if (principal.kind !== 'user' || typeof username !== 'string')
    throw beepErrors.create('BEEP_USER_REQUIRED');
  return `user:${username}`;
}
