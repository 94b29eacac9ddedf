import type { FastifyReply, FastifyRequest } from 'fastify';
import { requirePeer } from '../peer-dependency.ts';
import type { PermissionRequirementOptions } from '../permissions/permission-requirement.ts';
import type { Principal } from '../principal.ts';
import { type GuardOptions, pathOf, type RequestView } from './authenticate.ts';
import { errorResponse } from './error-response.ts';
import { createGuardSteps, type StepOutcome } from './guard-steps.ts';
import { type Requirement, rolesRequirement, scopesRequirement } from './requirements.ts';

requirePeer('fastify', '@gatehouse/sdk/fastify');

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the Gatehouse `authenticate` hook. */
    principal?: Principal;
  }
}

/** Send the refusal, if the step refused; a hook that returns nothing lets the request go on. */
function refuse(reply: FastifyReply, outcome: StepOutcome): FastifyReply | undefined {
  if (!('deny' in outcome)) return undefined;
  const { status, headers, body } = errorResponse(outcome.deny);
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
  const steps = createGuardSteps<FastifyRequest>(options, {
    view: viewOf,
    principal: principalOf,
    params: (request) => (request.params ?? {}) as Record<string, string>,
  });
  const requirement = (r: Requirement) => {
    const check = steps.requirement(r);
    return async (request: FastifyRequest, reply: FastifyReply) => refuse(reply, check(request));
  };
  return {
    async authenticate(request: FastifyRequest, reply: FastifyReply) {
      const outcome = await steps.authenticate(request, (span) =>
        reply.raw.once('close', () => span.end(reply.raw.statusCode)),
      );
      if ('allow' in outcome) request.principal = outcome.allow;
      return refuse(reply, outcome);
    },
    requireRoles: (...roles: string[]) => requirement(rolesRequirement(roles)),
    requireScopes: (...scopes: string[]) => requirement(scopesRequirement(scopes)),
    /** The caller must hold a relation on an object built from the route (`document:{id}`). */
    requirePermission(permission: PermissionRequirementOptions) {
      const check = steps.permission(permission);
      return async (request: FastifyRequest, reply: FastifyReply) => refuse(reply, await check(request));
    },
  };
}
