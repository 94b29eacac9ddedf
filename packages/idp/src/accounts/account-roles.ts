import type { SqlTx } from '@gatehouse/core';
import type { Account, AccountWithRoles } from './accounts.ts';
import { effectiveRolesQuery } from './roles.ts';

/** An account's roles as an account read returns them (`rolesColumns`). */
export interface RolesRow {
  roles: string[];
  direct_roles: string[];
  groups: string[];
}

/**
 * A user's roles as three array columns of the same statement, for the user id SQL expression
 * `id`: a login or an account lookup is one round trip (and one statement for PostgreSQL to parse
 * and plan) instead of four.
 */
export const rolesColumns = (id: string) => `array(${effectiveRolesQuery(id)}) as roles,
  array(select role from idp_user_roles where user_id = ${id} order by role) as direct_roles,
  array(select group_name from idp_group_members where user_id = ${id} order by group_name) as groups`;

/** The roles of user `id`, in one statement on `q`. */
export async function rolesOf(q: SqlTx, id: string): Promise<RolesRow> {
  const [found] = await q.query<RolesRow>(`select ${rolesColumns('$1')}`, [id]);
  return found!;
}

export function withRoles(account: Account, roles: RolesRow): AccountWithRoles {
  return { ...account, roles: roles.roles, directRoles: roles.direct_roles, groups: roles.groups };
}
