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
  type GuardSpan,
  logRefusal,
  pathOf,
  type RequestView,
  recordDecision,
  startGuardSpan,
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
  // Each traced request's span, from `authenticate` through the requirements after it.
  const spans = new WeakMap<Request, GuardSpan>();
  const requirement =
    (r: Requirement): RequestHandler =>
    (req: Request, res: Response, next: NextFunction) => {
      try {
        r.check(principalOf(req));
      } catch (err) {
        logRefusal(options.logger, err, viewOf(req));
        recordDecision(spans.get(req), { deny: err });
        send(res, err);
        return;
      }
      recordDecision(spans.get(req), { allow: principalOf(req), reason: r.kind ?? 'requirement' });
      next();
    };
  return {
    authenticate: ((req: Request, res: Response, next: NextFunction) => {
      const view = viewOf(req);
      const span = startGuardSpan(options.tracing, view);
      if (span) {
        spans.set(req, span);
        res.once('close', () => span.end(res.statusCode));
      }
      authenticate(view)
        .then(
          (principal) => {
            recordDecision(span, { allow: principal, reason: 'authenticated' });
            req.principal = principal;
            next();
          },
          (err: unknown) => {
            recordDecision(span, { deny: err });
            send(res, err);
          },
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
        const span = spans.get(req);
        check(principalOf(req), {
          params: req.params as Record<string, string>,
          path: pathOf(req.originalUrl),
          traceparent: span?.traceparent,
        })
          .then(
            () => {
              recordDecision(span, { allow: principalOf(req), reason: 'permission' });
              next();
            },
            (err: unknown) => {
              logRefusal(options.logger, err, viewOf(req));
              recordDecision(span, { deny: err });
              send(res, err);
            },
          )
          .catch(next);
      };
    },
  };
}
