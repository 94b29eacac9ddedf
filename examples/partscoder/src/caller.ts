import type { Logger } from '@gatehouse/core';
import { errorResponse, SESSION_COOKIE, type Verifier } from '@gatehouse/sdk';
import { createHonoGuard, type PrincipalEnv } from '@gatehouse/sdk/hono';
import type { MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';

/** The first-party session cookie the identity provider sets (docs/contracts.md). */

/**
 * Who is calling a PartsCoder service. The gateway forwards the caller's credential on these routes
 * (`forwardToken: true`) and every service verifies it again, locally, with the sdk verifier: a
 * bearer access token through the sdk's Hono guard, or the first-party session cookie through the
 * verifier's session-token check. The guard reads bearer tokens only, and the gateway does not yet
 * sign identity assertions, so the cookie branch is the one piece written here.
 */
export function createCallerGuard(verifier: Verifier, logger: Logger) {
  const guard = createHonoGuard({ verifier, logger });
  const authenticate: MiddlewareHandler<PrincipalEnv> = async (c, next) => {
    const session = c.req.header('authorization') === undefined ? getCookie(c, SESSION_COOKIE) : undefined;
    if (session === undefined) return guard.authenticate(c, next);
    try {
      c.set('principal', await verifier.verifySessionToken(session));
    } catch (err) {
      const { status, headers, body } = errorResponse(err);
      logger.warn({ code: (err as { code?: string }).code, path: c.req.path }, 'request refused');
      return new Response(body, { status, headers });
    }
    await next();
  };
  return { authenticate, requireRoles: guard.requireRoles };
}

export type CallerGuard = ReturnType<typeof createCallerGuard>;
