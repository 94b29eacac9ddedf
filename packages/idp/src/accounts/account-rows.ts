import { randomUUID } from 'node:crypto';
import type { Sql, SqlTx } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import { idpErrors } from '../errors.ts';
import { type RolesRow, rolesColumns, rolesOf, withRoles } from './account-roles.ts';
import type { Account, Accounts, AccountWithRoles } from './accounts.ts';
import { parseEmail } from './email.ts';
import { checkPassword } from './password-policy.ts';
import type { PasswordHasher } from './passwords.ts';
import type { Roles } from './roles.ts';
import { parseUsername, usernameKey } from './username.ts';

/** A row of idp_users as the store reads it. */
export interface UserRow {
  id: string;
  username: string;
  email: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  /** null for an account whose password is its directory's (directory/directory-accounts.ts). */
  password_hash: string | null;
  /** Read by a login and a lookup by id or name (`secondFactorColumn`). */
  second_factor?: boolean;
  /** Read where ID token claims are built (migrations/0040_recovery.sql). */
  email_verified?: boolean;
}

/** A user without the password hash, which only a login reads. */
export type AccountRow = Omit<UserRow, 'password_hash'>;

const controlCharacter = /[\u0000-\u001f\u007f]/;
const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `uuidShape` for PostgreSQL: an id of another shape is no account, and must not fail the cast to uuid. */
export const uuidPattern = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const accountColumns = 'id, username, email, enabled, created_at, updated_at';
export const userColumns = `${accountColumns}, password_hash`;
/** Whether the user `id` (an SQL expression) has an active second factor (mfa/second-factors.ts). */
export const secondFactorColumn = (id: string) =>
  `(exists(select 1 from idp_totp t where t.user_id = ${id} and t.confirmed_at is not null)
    or exists(select 1 from idp_passkeys p where p.user_id = ${id}))`;

export function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    username: r.username,
    email: r.email,
    enabled: r.enabled,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.second_factor === undefined ? {} : { secondFactor: r.second_factor }),
  };
}

export function toAccountWithRoles(r: AccountRow, roles: RolesRow): AccountWithRoles {
  return withRoles(toAccount(r), roles);
}

/** `row` with its roles, read on `q` (a transaction sees the roles it just gave). */
export async function accountWithRoles(q: SqlTx, row: AccountRow): Promise<AccountWithRoles> {
  return toAccountWithRoles(row, await rolesOf(q, row.id));
}

function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint_name?: string; constraint?: string; message?: string };
  if (e?.code !== '23505') return undefined;
  return e.constraint_name ?? e.constraint ?? e.message ?? '';
}

/** Whether no account can have the name `username` (not worth a statement). */
export const impossibleName = (username: string) =>
  // PostgreSQL refuses NUL in text: such a name cannot exist, and must not become a 500.
  username.length > 128 || controlCharacter.test(username);

/**
 * The `Accounts` operations on account rows, and the read by id that password login and
 * oidc-provider's lookup share.
 */
export interface AccountRows
  extends Pick<Accounts, 'create' | 'get' | 'getByUsername' | 'list' | 'update' | 'setPassword' | 'delete'> {
  /** The user (without the password hash) and their roles, in one statement; undefined for no such id. */
  rowWithRolesById(id: string): Promise<(AccountRow & RolesRow) | undefined>;
}

export function createAccountRows(
  sql: Sql,
  options: { hasher: PasswordHasher; roles: Roles; audit: Audit },
): AccountRows {
  const { hasher, roles, audit } = options;

  async function rowById(id: string): Promise<UserRow | undefined> {
    if (!uuidShape.test(id)) return undefined;
    const rows = await sql.query<UserRow>(`select ${userColumns} from idp_users where id = $1`, [id]);
    return rows[0];
  }

  async function rowWithRolesById(id: string): Promise<(AccountRow & RolesRow) | undefined> {
    if (!uuidShape.test(id)) return undefined;
    const rows = await sql.query<AccountRow & RolesRow>(
      `select ${accountColumns}, u.email_verified, ${rolesColumns('u.id')}, ${secondFactorColumn('u.id')} as second_factor
       from idp_users u where id = $1`,
      [id],
    );
    return rows[0];
  }

  async function rowWithRolesByUsername(username: string): Promise<(UserRow & RolesRow) | undefined> {
    if (impossibleName(username)) return undefined;
    const rows = await sql.query<UserRow & RolesRow>(
      `select ${userColumns}, ${rolesColumns('u.id')}, ${secondFactorColumn('u.id')} as second_factor
       from idp_users u where username_key = $1`,
      [usernameKey(username)],
    );
    return rows[0];
  }

  return {
    rowWithRolesById,

    async create(input, opts = {}) {
      const name = parseUsername(input.username);
      const email = input.email ? parseEmail(input.email) : undefined;
      checkPassword(input.password, {
        usernameKey: name.key,
        allowCommon: opts.allowCommonPassword === true,
      });
      const hash = await hasher.hash(input.password);
      const id = randomUUID();
      try {
        const account = await sql.transaction(async (tx) => {
          const rows = await tx.query<UserRow>(
            `insert into idp_users (id, username, username_key, email, email_key, password_hash, enabled)
             values ($1, $2, $3, $4, $5, $6, $7) returning ${userColumns}`,
            [
              id,
              name.display,
              name.key,
              email?.display ?? null,
              email?.key ?? null,
              hash,
              input.enabled ?? true,
            ],
          );
          for (const role of input.roles ?? []) await roles.assignInTx(tx, id, role);
          for (const group of input.groups ?? []) await roles.addMemberInTx(tx, group, id);
          return accountWithRoles(tx, rows[0]!);
        });
        await audit.record({
          type: opts.actor ? 'admin.change' : 'registration',
          actor: opts.actor ?? id,
          subject: id,
          sourceIp: opts.sourceIp,
          details: { action: 'user.create', username: name.display, roles: account.roles },
        });
        return account;
      } catch (err) {
        if ((err as { code?: string }).code === '23503') {
          throw idpErrors.create('IDP_NOT_FOUND', 'A role or group given for the new user does not exist');
        }
        const constraint = uniqueViolation(err);
        if (constraint !== undefined) {
          throw idpErrors.create(constraint.includes('email') ? 'IDP_EMAIL_TAKEN' : 'IDP_USERNAME_TAKEN');
        }
        throw err;
      }
    },

    async get(id) {
      const row = await rowWithRolesById(id);
      return row ? toAccountWithRoles(row, row) : undefined;
    },

    async getByUsername(username) {
      const row = await rowWithRolesByUsername(username);
      return row ? toAccountWithRoles(row, row) : undefined;
    },

    async list(opts = {}) {
      const limit = Math.min(Math.max(opts.limit ?? 100, 1), 500);
      const offset = Math.max(opts.offset ?? 0, 0);
      const rows = opts.search
        ? await sql.query<UserRow>(
            `select ${userColumns} from idp_users where position($1 in username_key) > 0
             order by username_key limit $2 offset $3`,
            [usernameKey(opts.search), limit, offset],
          )
        : await sql.query<UserRow>(
            `select ${userColumns} from idp_users order by username_key limit $1 offset $2`,
            [limit, offset],
          );
      return rows.map(toAccount);
    },

    async update(id, changes, actor) {
      const row = await rowById(id);
      if (!row) throw idpErrors.create('IDP_NOT_FOUND', 'No such user');
      const email = changes.email ? parseEmail(changes.email) : changes.email === null ? null : undefined;
      try {
        const rows = await sql.query<UserRow>(
          `update idp_users set
             email = case when $2 then $3 else email end,
             email_key = case when $2 then $4 else email_key end,
             email_verified = case when $2 and email_key is distinct from $4 then false else email_verified end,
             enabled = coalesce($5, enabled),
             updated_at = now()
           where id = $1 returning ${userColumns}`,
          [id, email !== undefined, email?.display ?? null, email?.key ?? null, changes.enabled ?? null],
        );
        await audit.record({
          type: 'admin.change',
          actor: actor ?? null,
          subject: id,
          details: {
            action: 'user.update',
            ...(changes.enabled === undefined ? {} : { enabled: changes.enabled }),
            ...(email === undefined ? {} : { emailChanged: true }),
          },
        });
        return accountWithRoles(sql, rows[0]!);
      } catch (err) {
        if (uniqueViolation(err) !== undefined) throw idpErrors.create('IDP_EMAIL_TAKEN');
        throw err;
      }
    },

    async setPassword(id, password, actor) {
      const row = await rowById(id);
      if (!row) throw idpErrors.create('IDP_NOT_FOUND', 'No such user');
      if (row.password_hash === null) throw idpErrors.create('IDP_DIRECTORY_PASSWORD');
      checkPassword(password, { usernameKey: usernameKey(row.username) });
      const hash = await hasher.hash(password);
      await sql.query(
        'update idp_users set password_hash = $2, password_changed_at = now(), updated_at = now() where id = $1',
        [id, hash],
      );
      await audit.record({
        type: 'admin.change',
        actor: actor ?? id,
        subject: id,
        details: { action: 'user.password' },
      });
    },

    async delete(id, actor) {
      if (!uuidShape.test(id)) return false;
      const rows = await sql.query('delete from idp_users where id = $1 returning id', [id]);
      if (rows.length > 0) {
        await audit.record({
          type: 'admin.change',
          actor: actor ?? null,
          subject: id,
          details: { action: 'user.delete' },
        });
      }
      return rows.length > 0;
    },
  };
}
