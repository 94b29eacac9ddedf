import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type PermissionRequirement,
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
  recordDecision,
  requirementReason,
  startGuardSpan,
} from './authenticate.ts';
import { sendSdkError } from './error-response.ts';
import { type Requirement, rolesRequirement, scopesRequirement } from './requirements.ts';

export interface AuthenticatedRequest extends IncomingMessage {
  principal: Principal;
  /** The guard's span (with `tracing`): send it on as the `traceparent` header of what the handler calls. */
  traceparent?: string;
}

/** `requirePermission`'s gate: node:http has no router, so the object comes from a function of the path. */
export interface PermissionGate {
  permission: PermissionRequirement;
}

// A handler behind `protect` writes its own refusals the guard's way.
export { sendSdkError };

export type AuthenticatedHandler = (req: AuthenticatedRequest, res: ServerResponse) => unknown;

function viewOf(req: IncomingMessage): RequestView {
  return {
    method: req.method ?? 'GET',
    path: pathOf(req.url),
    header: (name) => req.headers[name],
    socket: req.socket,
  };
}

/**
 * Guards for a plain `node:http` server:
 * `createServer(guard.protect(handler, guard.requireScopes('orders:add')))`.
 */
export function createNodeGuard(options: GuardOptions) {
  const authenticate = createAuthenticator(options);
  return {
    /** Who is calling; throws SdkError. */
    authenticate: (req: IncomingMessage): Promise<Principal> => authenticate(viewOf(req)),
    requireRoles: (...roles: string[]): Requirement => rolesRequirement(roles),
    requireScopes: (...scopes: string[]): Requirement => scopesRequirement(scopes),
    /** The caller must hold a relation on an object; `object` is a function of `{ path }` here. */
    requirePermission: (permission: PermissionRequirementOptions): PermissionGate => ({
      permission: permissionRequirement(permission),
    }),
    /** A request listener that runs `handler` only for an authenticated caller meeting every requirement. */
    protect(handler: AuthenticatedHandler, ...requirements: (Requirement | PermissionGate)[]) {
      return (req: IncomingMessage, res: ServerResponse): void => {
        const view = viewOf(req);
        const span = startGuardSpan(options.tracing, view);
        if (span) res.once('close', () => span.end(res.statusCode));
        let allowed = false;
        authenticate(view)
          .then(async (principal) => {
            let reason = 'authenticated';
            try {
              for (const r of requirements) {
                if ('permission' in r)
                  await r.permission(principal, {
                    params: {},
                    path: view.path,
                    traceparent: span?.traceparent,
                  });
                else r.check(principal);
                reason = requirementReason(r);
              }
            } catch (err) {
              logRefusal(options.logger, err, view);
              throw err;
            }
            allowed = true;
            recordDecision(span, { allow: principal, reason });
            const authed = req as AuthenticatedRequest;
            authed.principal = principal;
            if (span) authed.traceparent = span.traceparent;
            return handler(authed, res);
          })
          .catch((err: unknown) => {
            // A handler's own failure after an allow is not a refusal.
            if (!allowed) recordDecision(span, { deny: err });
            sendSdkError(res, err);
          });
      };
    },
  };
}
