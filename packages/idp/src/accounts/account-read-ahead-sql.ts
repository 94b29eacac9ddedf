import type { AccountReadAhead } from '../storage/unit-of-work.ts';
import { impossibleName, secondFactorColumn, type UserRow, uuidPattern } from './account-rows.ts';
import { effectiveRolesQuery } from './roles.ts';
import { usernameKey } from './username.ts';

/**
 * The row a login reads by name, as one json value (null when there is none), for the username key
 * given as the placeholder `p`: the login post reads it with the interaction (`accountReadAhead.byName`).
 */
const userJson = (p: string) =>
  `(select json_build_object('id', id, 'username', username, 'email', email, 'enabled', enabled,
      'created_at', created_at, 'updated_at', updated_at, 'password_hash', password_hash,
      'second_factor', ${secondFactorColumn('idp_users.id')})
    from idp_users where username_key = ${p})`;

/**
 * The account oidc-provider asks for, as one json value (null when there is none), for the id given
 * as the SQL text expression `idText`: the adapter selects it with the row that names the account.
 */
const accountJsonById = (idText: string) =>
  `(select json_build_object('id', u.id, 'username', u.username, 'email', u.email, 'enabled', u.enabled,
      'email_verified', u.email_verified, 'updated_at', floor(extract(epoch from u.updated_at)), 'roles', array(${effectiveRolesQuery('u.id')}))
    from idp_users u where u.id = case when (${idText}) ~ '${uuidPattern}' then (${idText})::uuid end)`;

/** What `accountJsonById` reads, as the unit of work hands it back. */
export interface AccountJson {
  id: string;
  username: string;
  email: string | null;
  email_verified?: boolean;
  enabled: boolean;
  /** Seconds since the epoch. */
  updated_at: number;
  roles: string[];
}

/**
 * How the adapter reads the store's accounts in the statement of the row that names them (the
 * request's unit of work keeps what was read; `findAccount`, `verifyCredentials` and `authenticate`
 * take it).
 */
export const accountReadAhead: AccountReadAhead = {
  byId: accountJsonById,
  byName: (username) =>
    impossibleName(username) ? undefined : { column: userJson, param: usernameKey(username) },
};

/** The user row from what `userJson` read (json has no dates: they come as text). */
export function userRowFromReadAhead(value: unknown): UserRow | undefined {
  const row = value as
    | (Omit<UserRow, 'created_at' | 'updated_at'> & Record<'created_at' | 'updated_at', string>)
    | null;
  if (!row) return undefined;
  return { ...row, created_at: new Date(row.created_at), updated_at: new Date(row.updated_at) };
}
