import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { requirePeer } from '../peer-dependency.ts';
import type { PermissionRequirementOptions } from '../permissions/permission-requirement.ts';
import type { Principal } from '../principal.ts';
import { type GuardOptions, pathOf, type RequestView } from './authenticate.ts';
import { sendSdkError } from './error-response.ts';
import { createGuardSteps, type StepOutcome } from './guard-steps.ts';
import { type Requirement, rolesRequirement, scopesRequirement } from './requirements.ts';

requirePeer('express', '@gatehouse/sdk/express');

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the Gatehouse `authenticate` middleware. */
    principal?: Principal;
  }
}

function viewOf(req: Request): RequestView {
  return {
    method: req.method,
    // originalUrl: the path as received, whatever router this middleware is mounted on.
    path: pathOf(req.originalUrl),
    header: (name) => req.headers[name],
    socket: req.socket,
  };
}

/** The caller of a request that went through `authenticate`; throws if the guard was not mounted. */
export function principalOf(req: Request): Principal {
  if (!req.principal) throw new Error('principalOf: the authenticate middleware did not run for this route');
  return req.principal;
}

/** Go on to the next handler, or send the refusal. */
function proceed(outcome: StepOutcome, res: Response, next: NextFunction): void {
  if ('deny' in outcome) sendSdkError(res, outcome.deny);
  else next();
}

/**
 * Express middlewares: `app.post('/orders', guard.authenticate, guard.requireScopes('orders:add'), handler)`;
 * the handler reads `req.principal` (or `principalOf(req)`).
 */
export function createExpressGuard(options: GuardOptions) {
  const steps = createGuardSteps<Request>(options, {
    view: viewOf,
    principal: principalOf,
    params: (req) => req.params as Record<string, string>,
  });
  const requirement = (r: Requirement): RequestHandler => {
    const check = steps.requirement(r);
    return (req: Request, res: Response, next: NextFunction) => proceed(check(req), res, next);
  };
  return {
    authenticate: ((req: Request, res: Response, next: NextFunction) => {
      steps
        .authenticate(req, (span) => res.once('close', () => span.end(res.statusCode)))
        .then((outcome) => {
          if ('allow' in outcome) req.principal = outcome.allow;
          proceed(outcome, res, next);
        })
        // Whatever a later handler throws is Express's to handle, not a refusal of ours.
        .catch(next);
    }) as RequestHandler,
    requireRoles: (...roles: string[]): RequestHandler => requirement(rolesRequirement(roles)),
    requireScopes: (...scopes: string[]): RequestHandler => requirement(scopesRequirement(scopes)),
    /** The caller must hold a relation on an object built from the route (`document:{id}`). */
    requirePermission(permission: PermissionRequirementOptions): RequestHandler {
      const check = steps.permission(permission);
      return (req: Request, res: Response, next: NextFunction) => {
        check(req)
          .then((outcome) => proceed(outcome, res, next))
          .catch(next);
      };
    },
  };
}
