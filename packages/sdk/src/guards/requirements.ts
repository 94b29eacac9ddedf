import { sdkError } from '../errors.ts';
import type { Principal } from '../principal.ts';

/** What a route demands of an authenticated caller. */
export interface Requirement {
  /** What it demands, named on a traced request's span as the allow reason: `roles`, `scopes`. */
  readonly kind?: string;
  check(principal: Principal): void;
}

/** At least one of the roles: a role list names who may; any of them suffices (as the gateway's policy). */
export function rolesRequirement(roles: string[]): Requirement {
  if (roles.length === 0) throw new TypeError('requireRoles needs at least one role');
  return {
    kind: 'roles',
    check(principal) {
      if (!roles.some((r) => principal.roles.includes(r))) {
        throw sdkError('SDK_INSUFFICIENT_ROLE', `One of these roles is required: ${roles.join(', ')}`);
      }
    },
  };
}

/** Every one of the scopes: an OAuth operation needs all the scopes it names (as the gateway's policy). */
export function scopesRequirement(scopes: string[]): Requirement {
  if (scopes.length === 0) throw new TypeError('requireScopes needs at least one scope');
  return {
    kind: 'scopes',
    check(principal) {
      if (!scopes.every((s) => principal.scopes.includes(s))) {
        throw sdkError('SDK_INSUFFICIENT_SCOPE', undefined, { scope: scopes.join(' ') });
      }
    },
  };
}
