import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { requirePeer } from '../peer-dependency.ts';
import type { PermissionRequirementOptions } from '../permissions/permission-requirement.ts';
import type { Principal } from '../principal.ts';
import type { GuardOptions, RequestView } from './authenticate.ts';
import { errorResponse } from './error-response.ts';
import { createGuardSteps } from './guard-steps.ts';
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
  const steps = createGuardSteps<Context>(options, {
    view: viewOf,
    principal: (c) => c.get('principal'),
    params: (c) => c.req.param() as Record<string, string>,
  });
  const requirement = (r: Requirement): MiddlewareHandler<PrincipalEnv> => {
    const check = steps.requirement(r);
    return async (c, next) => {
      const outcome = check(c);
      if ('deny' in outcome) return refuse(outcome.deny);
      await next();
    };
  };
  const authenticateMiddleware: MiddlewareHandler<PrincipalEnv> = async (c, next) => {
    const outcome = await steps.authenticate(c);
    const span = steps.spanOf(c);
    if ('deny' in outcome) {
      const refusal = refuse(outcome.deny);
      span?.end(refusal.status);
      return refusal;
    }
    c.set('principal', outcome.allow);
    if (!span) return next();
    c.set('traceparent', span.traceparent);
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
      const check = steps.permission(permission);
      return async (c, next) => {
        const outcome = await check(c);
        if ('deny' in outcome) return refuse(outcome.deny);
        await next();
      };
    },
  };
}
