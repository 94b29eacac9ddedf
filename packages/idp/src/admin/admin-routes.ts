import { adminApiBrokering } from '../brokering/admin-api-brokering.ts';
import { adminApiDirectory } from '../directory/admin-api-directory.ts';
import type { IdpRuntime } from '../index.ts';
import { adminChanges } from './admin-changes.ts';
import type { AdminRoute } from './admin-route.ts';
import { auditRoutes } from './audit-routes.ts';
import { clientsRoutes } from './clients-routes.ts';
import { keysRoutes } from './keys-routes.ts';
import { rolesGroupsRoutes } from './roles-groups-routes.ts';
import { sessionsRoutes } from './sessions-routes.ts';
import { usersRoutes } from './users-routes.ts';

/**
 * The admin API's route table: every operation, in the order the document lists them. admin-api.ts
 * serves these and openapi.ts describes these, nothing else.
 */
export function adminRoutes(idp: IdpRuntime): AdminRoute[] {
  const changes = adminChanges(idp);
  return [
    ...usersRoutes(changes),
    ...rolesGroupsRoutes(changes),
    ...clientsRoutes(changes),
    ...sessionsRoutes(changes),
    ...keysRoutes(changes),
    ...auditRoutes(changes),
    // Upstream identity providers and linked identities (brokering/).
    ...adminApiBrokering(idp),
    // The LDAP directory people sign in with (directory/).
    ...adminApiDirectory(idp),
  ];
}
