import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { requirePeer } from '../peer-dependency.ts';
import {
  type PermissionRequirementOptions,
  permissionRequirement,
} from '../permissions/permission-requirement.ts';
import type { Principal } from '../principal.ts';
import {
  createAuthenticator,
  type GuardOptions,
  type GuardSpan,
  logRefusal,
  type RequestView,
  recordDecision,
  startGuardSpan,
} from './authenticate.ts';
import { errorResponse } from './error-response.ts';
import { type Requirement, rolesRequirement, scopesRequirement } from './requirements.ts';

requirePeer('hono', '@gatehouse/sdk/hono');

/** Hono environment with the caller: `new Hono<PrincipalEnv>()`, then `c.get('principal')`. */
export interface PrincipalEnv {
  /** `traceparent` (with `tracing`): the guard's span, to send on as the header of what the handler calls. */
  Variables: { principal: Principal; traceparent?: string };
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
  // Each traced request's span, from `authenticate` through the requirements after it.
  const spans = new WeakMap<Context, GuardSpan>();
  const requirement =
    (r: Requirement): MiddlewareHandler<PrincipalEnv> =>
    async (c, next) => {
      try {
        r.check(c.get('principal'));
      } catch (err) {
        logRefusal(options.logger, err, viewOf(c));
        recordDecision(spans.get(c), { deny: err });
        return refuse(err);
      }
      recordDecision(spans.get(c), { allow: c.get('principal'), reason: r.kind ?? 'requirement' });
      await next();
    };
  const authenticateMiddleware: MiddlewareHandler<PrincipalEnv> = async (c, next) => {
    const view = viewOf(c);
    const span = startGuardSpan(options.tracing, view);
    let principal: Principal;
    try {
      principal = await authenticate(view);
    } catch (err) {
      recordDecision(span, { deny: err });
      const refusal = refuse(err);
      span?.end(refusal.status);
      return refusal;
    }
    c.set('principal', principal);
    if (!span) return next();
    spans.set(c, span);
    c.set('traceparent', span.traceparent);
    recordDecision(span, { allow: principal, reason: 'authenticated' });
    try {
      await next();
    } finally {
      span.end(c.res.status);
    }
  };
  return {
    authenticate: authenticateMiddleware,
    requireRoles: (...roles: string[]) => requirement(rolesRequirement(roles)),
    requireScopes: (...scopes: string[]) => requirement(scopesRequirement(scopes)),
    /** The caller must hold a relation on an object built from the route (`document:{id}`). */
    requirePermission(permission: PermissionRequirementOptions): MiddlewareHandler<PrincipalEnv> {
      const check = permissionRequirement(permission);
      return async (c, next) => {
        const span = spans.get(c);
        try {
          await check(c.get('principal'), {
            params: c.req.param() as Record<string, string>,
            path: c.req.path,
            traceparent: span?.traceparent,
          });
        } catch (err) {
          logRefusal(options.logger, err, viewOf(c));
          recordDecision(span, { deny: err });
          return refuse(err);
        }
        recordDecision(span, { allow: c.get('principal'), reason: 'permission' });
        await next();
      };
    },
  };
}
