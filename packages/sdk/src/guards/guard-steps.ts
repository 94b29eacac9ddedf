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
  requirementReason,
  startGuardSpan,
} from './authenticate.ts';
import type { Requirement } from './requirements.ts';

/** What a step decided: go on as this caller, or refuse with this error (sent the framework's way). */
export type StepOutcome = { allow: Principal } | { deny: unknown };

/** What the steps read from one framework's request. */
export interface FrameworkRequest<R> {
  view(req: R): RequestView;
  /** The caller `authenticate` set; throws when it did not run for the route. */
  principal(req: R): Principal;
  /** The route's path parameters, for a permission's object. */
  params(req: R): Record<string, string>;
}

/**
 * The steps of a middleware guard (authenticate, then requirements), whatever the framework: each
 * decision goes on the request's span and each refusal into the log, so an adapter only reads its
 * request, sends a refusal its own way and calls the next handler.
 */
export function createGuardSteps<R extends object>(options: GuardOptions, read: FrameworkRequest<R>) {
  const authenticate = createAuthenticator(options);
  // Each traced request's span, from `authenticate` through the requirements after it.
  const spans = new WeakMap<R, GuardSpan>();

  function refused(req: R, view: RequestView, err: unknown): StepOutcome {
    logRefusal(options.logger, err, view);
    recordDecision(spans.get(req), { deny: err });
    return { deny: err };
  }

  return {
    spanOf: (req: R): GuardSpan | undefined => spans.get(req),

    /** Who is calling; `onSpan` gets the request's span (with `tracing`) before the caller is known. */
    async authenticate(req: R, onSpan?: (span: GuardSpan) => void): Promise<StepOutcome> {
      const view = read.view(req);
      const span = startGuardSpan(options.tracing, view);
      if (span) {
        spans.set(req, span);
        onSpan?.(span);
      }
      let principal: Principal;
      try {
        principal = await authenticate(view);
      } catch (err) {
        // The authenticator logs its own refusals.
        recordDecision(span, { deny: err });
        return { deny: err };
      }
      recordDecision(span, { allow: principal, reason: 'authenticated' });
      return { allow: principal };
    },

    requirement(r: Requirement): (req: R) => StepOutcome {
      return (req) => {
        let principal: Principal;
        try {
          principal = read.principal(req);
          r.check(principal);
        } catch (err) {
          return refused(req, read.view(req), err);
        }
        recordDecision(spans.get(req), { allow: principal, reason: requirementReason(r) });
        return { allow: principal };
      };
    },

    /** The caller must hold a relation on an object built from the route (`document:{id}`). */
    permission(permission: PermissionRequirementOptions): (req: R) => Promise<StepOutcome> {
      const check = permissionRequirement(permission);
      return async (req) => {
        const principal = read.principal(req);
        const view = read.view(req);
        const span = spans.get(req);
        try {
          await check(principal, {
            params: read.params(req),
            path: view.path,
            traceparent: span?.traceparent,
          });
        } catch (err) {
          return refused(req, view, err);
        }
        recordDecision(span, { allow: principal, reason: 'permission' });
        return { allow: principal };
      };
    },
  };
}
