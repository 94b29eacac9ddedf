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
  logRefusal,
  pathOf,
  type RequestView,
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
  const requirement = (r: Requirement) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      r.check(principalOf(request));
    } catch (err) {
      logRefusal(options.logger, err, viewOf(request));
      return send(reply, err);
    }
  };
  return {
    async authenticate(request: FastifyRequest, reply: FastifyReply) {
      try {
        request.principal = await authenticate(viewOf(request));
      } catch (err) {
        return send(reply, err);
      }
    },
    requireRoles: (...roles: string[]) => requirement(rolesRequirement(roles)),
    requireScopes: (...scopes: string[]) => requirement(scopesRequirement(scopes)),
    /** The caller must hold a relation on an object built from the route (`document:{id}`). */
    requirePermission(permission: PermissionRequirementOptions) {
      const check = permissionRequirement(permission);
      return async (request: FastifyRequest, reply: FastifyReply) => {
        try {
          await check(principalOf(request), {
            params: (request.params ?? {}) as Record<string, string>,
            path: pathOf(request.raw.url),
          });
        } catch (err) {
          logRefusal(options.logger, err, viewOf(request));
          return send(reply, err);
        }
      };
    },
  };
}
