import { permissionObject, sdkError } from '@gatehouse/sdk';
import type { Principal, RoutePolicy } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import { toGatewayError, unauthenticated } from './authenticate.ts';
import type { DecisionClient } from './decision-client.ts';
import type { PermissionPolicy, PermissionRequestFacts } from './permission-policy.ts';

/** Who answers permission policies: the permission engine when configured, else the decision endpoint. */
export interface PermissionDeciders {
  readonly decisions: DecisionClient | undefined;
  readonly permissions: PermissionPolicy | undefined;
}

/**
 * A route's policy against the caller:
 * - `public`: anyone; `authenticated`: any valid token or session;
 * - `roles`: at least one of the listed roles (a role list names who may, any of them suffices);
 * - `scopes`: every listed scope (OAuth: a token must carry all the scopes an operation needs);
 * - `permission`: with `gateway.authz`, the permission engine (permission-policy.ts); without, the
 *   decision endpoint answers for subject `<kind>:<sub>` (`user:alice`, `service:orders`), the
 *   relation, and the object with `{param}` filled from the route pattern;
 * - `internal`: never from outside — answered 404 so the route's existence does not leak.
 * Throws the refusal; returns when the request may go on. Only `permission` has to wait (for the
 * decision endpoint): it alone returns a promise, so the other policies cost the request path no
 * promise and no turn of the microtask queue.
 */
export function authorize(
  policy: RoutePolicy,
  principal: Principal | undefined,
  params: Record<string, string>,
  deciders: PermissionDeciders,
  request: PermissionRequestFacts,
): Promise<void> | undefined {
  if (policy === 'public') return undefined;
  if (policy === 'internal') throw gatewayErrors.create('GW_NOT_FOUND');
  if (!principal) throw unauthenticated();
  if (policy === 'authenticated') return undefined;
  if ('roles' in policy) {
    if (!policy.roles.some((r) => principal.roles.includes(r))) {
      throw toGatewayError(
        sdkError('SDK_INSUFFICIENT_ROLE', `One of these roles is required: ${policy.roles.join(', ')}`),
      );
    }
    return undefined;
  }
  if ('scopes' in policy) {
    const missing = policy.scopes.filter((s) => !principal.scopes.includes(s));
    if (missing.length > 0) {
      throw toGatewayError(sdkError('SDK_INSUFFICIENT_SCOPE', undefined, { scope: policy.scopes.join(' ') }));
    }
    return undefined;
  }
  if (deciders.permissions) return deciders.permissions.decide(policy.permission, principal, params, request);
  const decisions = deciders.decisions;
  if (!decisions) throw gatewayErrors.create('GW_DECISION_UNAVAILABLE');
  const object = permissionObject(policy.permission.object, params);
  if (object === undefined) throw gatewayErrors.create('GW_PERMISSION_DENIED');
  return decide(decisions, `${principal.kind}:${principal.subject}`, policy.permission.relation, object);
}

async function decide(decisions: DecisionClient, subject: string, relation: string, object: string) {
  if (!(await decisions.check({ subject, relation, object })))
    throw gatewayErrors.create('GW_PERMISSION_DENIED');
}
