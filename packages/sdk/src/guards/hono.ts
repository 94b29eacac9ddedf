import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { requirePeer } from '../peer-dependency.ts';
import {
  type PermissionRequirementOptions,
  permissionRequirement,
} from '../permissions/permission-requirement.ts';
import type { Principal } from '../principal.ts';
import { createAuthenticator, type GuardOptions, logRefusal, type RequestView } from './authenticate.ts';
import { errorResponse } from './error-response.ts';
import { type Requirement, rolesRequirement, scopesRequirement } from './requirements.ts';

requirePeer('hono', '@gatehouse/sdk/hono');

/** Hono environment with the caller: `new Hono<PrincipalEnv>()`, then `c.get('principal')`. */
export interface PrincipalEnv {
  Variables: { principal: Principal };
}

function refuse(err: unknown): Response {
  const { status, headers, body } = errorResponse(err);
  return new Response(body, { status, headers });
}

function viewOf(c: Context): RequestView {
  // Under @hono/node-server the Node request is `c.env.incoming`: its socket carries the TLS peer.
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return {
    method: c.req.method,
    path: c.req.path,
    header: (name) => c.req.header(name),
    socket: incoming?.socket,
  };
}

/**
 * Hono middlewares: `app.post('/orders', guard.authenticate, guard.requireScopes('orders:add'), handler)`;
 * the handler reads `c.get('principal')`.
 */
export function createHonoGuard(options: GuardOptions) {
  const authenticate = createAuthenticator(options);
  const requirement =
    (r: Requirement): MiddlewareHandler<PrincipalEnv> =>
    async (c, next) => {
      try {
        r.check(c.get('principal'));
      } catch (err) {
        logRefusal(options.logger, err, viewOf(c));
        return refuse(err);
      }
      await next();
    };
  const authenticateMiddleware: MiddlewareHandler<PrincipalEnv> = async (c, next) => {
    let principal: Principal;
    try {
      principal = await authenticate(viewOf(c));
    } catch (err) {
      return refuse(err);
    }
    c.set('principal', principal);
    await next();
  };
  return {
    authenticate: authenticateMiddleware,
    requireRoles: (...roles: string[]) => requirement(rolesRequirement(roles)),
    requireScopes: (...scopes: string[]) => requirement(scopesRequirement(scopes)),
    /** The caller must hold a relation on an object built from the route (`document:{id}`). */
    requirePermission(permission: PermissionRequirementOptions): MiddlewareHandler<PrincipalEnv> {
      const check = permissionRequirement(permission);
      return async (c, next) => {
        try {
          await check(c.get('principal'), {
            params: c.req.param() as Record<string, string>,
            path: c.req.path,
          });
        } catch (err) {
          logRefusal(options.logger, err, viewOf(c));
          return refuse(err);
        }
        await next();
      };
    },
  };
}
