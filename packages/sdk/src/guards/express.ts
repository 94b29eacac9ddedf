import type { NextFunction, Request, RequestHandler, Response } from 'express';
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

requirePeer('express', '@gatehouse/sdk/express');

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the Gatehouse `authenticate` middleware. */
    principal?: Principal;
  }
}

function send(res: Response, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, body } = errorResponse(err);
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
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

/**
 * Express middlewares: `app.post('/orders', guard.authenticate, guard.requireScopes('orders:add'), handler)`;
 * the handler reads `req.principal` (or `principalOf(req)`).
 */
export function createExpressGuard(options: GuardOptions) {
  const authenticate = createAuthenticator(options);
  const requirement =
    (r: Requirement): RequestHandler =>
    (req: Request, res: Response, next: NextFunction) => {
      try {
        r.check(principalOf(req));
      } catch (err) {
        logRefusal(options.logger, err, viewOf(req));
        send(res, err);
        return;
      }
      next();
    };
  return {
    authenticate: ((req: Request, res: Response, next: NextFunction) => {
      authenticate(viewOf(req))
        .then(
          (principal) => {
            req.principal = principal;
            next();
          },
          (err: unknown) => send(res, err),
        )
        // Whatever a later handler throws is Express's to handle, not a refusal of ours.
        .catch(next);
    }) as RequestHandler,
    requireRoles: (...roles: string[]): RequestHandler => requirement(rolesRequirement(roles)),
    requireScopes: (...scopes: string[]): RequestHandler => requirement(scopesRequirement(scopes)),
    /** The caller must hold a relation on an object built from the route (`document:{id}`). */
    requirePermission(permission: PermissionRequirementOptions): RequestHandler {
      const check = permissionRequirement(permission);
      return (req: Request, res: Response, next: NextFunction) => {
        check(principalOf(req), {
          params: req.params as Record<string, string>,
          path: pathOf(req.originalUrl),
        })
          .then(
            () => next(),
            (err: unknown) => {
              logRefusal(options.logger, err, viewOf(req));
              send(res, err);
            },
          )
          .catch(next);
      };
    },
  };
}
