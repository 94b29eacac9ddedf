import { isSdkError, sdkError } from '../errors.ts';
import type { Principal } from '../principal.ts';
import type { PermissionClient } from './permission-client.ts';
import { permissionObject, permissionSubject, type SubjectTemplates } from './permission-templates.ts';

/** What a guard's `requirePermission` needs: which relation, on which object, for whom. */
export interface PermissionRequirementOptions {
  client: PermissionClient;
  relation: string;
  /** `document:{id}` over the route's path parameters, or a function of the request. */
  object:
    | string
    | ((request: { params: Readonly<Record<string, string>>; path: string }) => string | undefined);
  subject?: SubjectTemplates | undefined;
}

export type PermissionRequirement = (
  principal: Principal,
  /** `traceparent`: the guard's span, so that the permission service's span joins the request's trace. */
  request: { params: Readonly<Record<string, string>>; path: string; traceparent?: string | undefined },
) => Promise<void>;

/**
 * The framework-neutral core of every guard's `requirePermission`. Fails closed:
 * - no subject or object can be built, the engine says no, or refuses the question: 403 SDK_PERMISSION_DENIED;
 * - the engine cannot answer: 503 SDK_PERMISSION_UNAVAILABLE (the caller may be entitled; retry).
 */
export function permissionRequirement(options: PermissionRequirementOptions): PermissionRequirement {
  if (typeof options.relation !== 'string' || options.relation === '')
    throw new TypeError('relation is required');
  const objectOf =
    typeof options.object === 'function'
      ? options.object
      : (r: { params: Readonly<Record<string, string>> }) =>
          permissionObject(options.object as string, r.params);
  return async (principal, request) => {
    const user = permissionSubject(principal, options.subject);
    const object = objectOf(request);
    if (user === undefined || object === undefined) throw sdkError('SDK_PERMISSION_DENIED');
    let allowed: boolean;
    try {
      allowed = await options.client.check({
        user,
        relation: options.relation,
        object,
        ...(request.traceparent ? { traceparent: request.traceparent } : {}),
      });
    } catch (err) {
      if (isSdkError(err, 'SDK_PERMISSION_QUERY_INVALID')) {
        throw sdkError('SDK_PERMISSION_DENIED', undefined, { cause: err });
      }
      throw err;
    }
    if (!allowed) throw sdkError('SDK_PERMISSION_DENIED');
  };
}
