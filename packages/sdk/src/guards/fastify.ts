import type { FastifyReply, FastifyRequest } from 'fastify';
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
  pathOf,
  type RequestView,
  recordDecision,
  startGuardSpan,
} from './authenticate.ts';
import { errorResponse } from './error-response.ts';
import { type Requirement, rolesRequirement, scopesRequirement } from './requirements.ts';

requirePeer('fastify', '@gatehouse/sdk/fastify');

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the Gatehouse `authenticate` hook. */
    principal?: Principal;
  }
}

function send(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, headers, body } = errorResponse(err);
  return reply.code(status).headers(headers).send(body);
}

function viewOf(request: FastifyRequest): RequestView {
  return {
    method: request.method,
    path: pathOf(request.raw.url),
    header: (name) => request.headers[name],
    socket: request.raw.socket,
  };
}

/** The caller of a request that went through `authenticate`; throws if the hook was not added. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('principalOf: the authenticate hook did not run for this route');
  return request.principal;
}

/**
 * Fastify `preHandler` hooks:
 * `app.post('/orders', { preHandler: [guard.authenticate, guard.requireScopes('orders:add')] }, handler)`;
 * the handler reads `request.principal`.
 */
export function createFastifyGuard(options: GuardOptions) {
  const authenticate = createAuthenticator(options);
  // Each traced request's span, from `authenticate` through the requirements after it.
  const spans = new WeakMap<FastifyRequest, GuardSpan>();
  const requirement = (r: Requirement) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      r.check(principalOf(request));
    } catch (err) {
      logRefusal(options.logger, err, viewOf(request));
      recordDecision(spans.get(request), { deny: err });
      return send(reply, err);
    }
    recordDecision(spans.get(request), { allow: principalOf(request), reason: r.kind ?? 'requirement' });
  };
  return {
    async authenticate(request: FastifyRequest, reply: FastifyReply) {
      const view = viewOf(request);
      const span = startGuardSpan(options.tracing, view);
      if (span) {
        spans.set(request, span);
        reply.raw.once('close', () => span.end(reply.raw.statusCode));
      }
      try {
        request.principal = await authenticate(view);
      } catch (err) {
        recordDecision(span, { deny: err });
        return send(reply, err);
      }
      recordDecision(span, { allow: request.principal, reason: 'authenticated' });
    },
    requireRoles: (...roles: string[]) => requirement(rolesRequirement(roles)),
    requireScopes: (...scopes: string[]) => requirement(scopesRequirement(scopes)),
    /** The caller must hold a relation on an object built from the route (`document:{id}`). */
    requirePermission(permission: PermissionRequirementOptions) {
      const check = permissionRequirement(permission);
      return async (request: FastifyRequest, reply: FastifyReply) => {
        const span = spans.get(request);
        try {
          await check(principalOf(request), {
            params: (request.params ?? {}) as Record<string, string>,
            path: pathOf(request.raw.url),
            traceparent: span?.traceparent,
          });
        } catch (err) {
          logRefusal(options.logger, err, viewOf(request));
          recordDecision(span, { deny: err });
          return send(reply, err);
        }
        recordDecision(span, { allow: principalOf(request), reason: 'permission' });
      };
    },
  };
}
