import { randomUUID } from 'node:crypto';
import type { Logger, Sql, SqlTx } from '@gatehouse/core';
import { parseEmail } from '../accounts/email.ts';
import { parseUsername } from '../accounts/username.ts';
import type { Audit } from '../audit/audit.ts';
import { idpErrors } from '../errors.ts';
import type { DirectoryConfig } from './directory-config.ts';
import type { DirectoryEntry } from './ldap-directory.ts';

/**
 * The local side of directory accounts (`idp_directory_accounts`): the account a directory entry
 * signs in to, created on its first login with no password hash (the password stays the
 * directory's), its roles taken from its groups at every login and sync, and its disabling.
 *
 * A directory account's direct roles belong to the directory: each login and sync replaces them
 * with `groups.defaultRoles` and the roles mapped from its groups. Roles given through Gatehouse
 * groups are left alone.
 */
export const DIRECTORY_SOURCE = 'ldap';

export interface LinkedAccount {
  id: string;
  username: string;
  enabled: boolean;
  dn: string;
  disabledByDirectory: boolean;
  /** What the last login or sync stored: a refresh that would change nothing writes nothing. */
  email: string | null;
  name: string | null;
  externalId: string | null;
  roles: string[];
}

interface LinkedRow {
  id: string;
  username: string;
  enabled: boolean;
  dn: string;
  disabled_by_directory: boolean;
  email: string | null;
  display_name: string | null;
  external_id: string | null;
  roles: string[];
}

const toLinked = (r: LinkedRow): LinkedAccount => ({
  id: r.id,
  username: r.username,
  enabled: r.enabled,
  dn: r.dn,
  disabledByDirectory: r.disabled_by_directory,
  email: r.email,
  name: r.display_name,
  externalId: r.external_id,
  roles: r.roles,
});

/** DNs compare without case and without spaces around separators (RFC 4514 allows both). */
export function normalizeDn(dn: string): string {
  return dn
    .trim()
    .toLowerCase()
    .replace(/\s*([,=+])\s*/g, '$1');
}

export function rolesFor(entry: DirectoryEntry, config: DirectoryConfig): string[] {
  const byGroup = new Map(Object.entries(config.groups.roles).map(([dn, roles]) => [normalizeDn(dn), roles]));
  const roles = new Set(config.groups.defaultRoles);
  for (const group of entry.groups) for (const role of byGroup.get(normalizeDn(group)) ?? []) roles.add(role);
  return [...roles].sort();
}

export interface DirectoryAccounts {
  /** The account linked to the entry (by entryUUID, else by DN), or undefined. */
  linkedTo(entry: DirectoryEntry): Promise<LinkedAccount | undefined>;
  list(): Promise<LinkedAccount[]>;
  /** Create the account of an entry's first login. */
  import(entry: DirectoryEntry, roles: string[]): Promise<LinkedAccount>;
  /** After a login or a sync: the entry's DN, email and roles, and the account enabled again if the directory had disabled it. */
  refresh(account: LinkedAccount, entry: DirectoryEntry, roles: string[]): Promise<void>;
  /** Disable the account because the directory removed or disabled its entry. */
  disable(account: LinkedAccount, reason: string): Promise<void>;
}

export function createDirectoryAccounts(options: {
  sql: Sql;
  audit: Audit;
  logger: Logger;
  /** Ends the first-party sessions of an account the directory disabled. */
  endSessions?: ((userId: string) => Promise<unknown>) | undefined;
}): DirectoryAccounts {
  const { sql, audit, logger } = options;
  const linkedColumns = `u.id, u.username, u.enabled, d.dn, d.disabled_by_directory, u.email, d.display_name,
    d.external_id, array(select role from idp_user_roles r where r.user_id = u.id order by role) as roles`;

  async function setRoles(tx: SqlTx, userId: string, roles: string[]): Promise<void> {
    await tx.query('insert into idp_roles (name) select unnest($1::text[]) on conflict do nothing', [roles]);
    await tx.query('delete from idp_user_roles where user_id = $1 and not (role = any($2::text[]))', [
      userId,
      roles,
    ]);
    await tx.query(
      'insert into idp_user_roles (user_id, role) select $1, unnest($2::text[]) on conflict do nothing',
      [userId, roles],
    );
  }

  /** The entry's email when it is valid and no other account uses it; else none (logged). */
  async function usableEmail(tx: SqlTx, entry: DirectoryEntry, userId: string | null) {
    if (!entry.email) return null;
    try {
      const email = parseEmail(entry.email);
      const taken = await tx.query(
        'select 1 from idp_users where email_key = $1 and id is distinct from $2',
        [email.key, userId],
      );
      if (taken.length === 0) return email;
      logger.warn({ dn: entry.dn }, 'directory email already used by another account: not imported');
    } catch {
      logger.warn({ dn: entry.dn }, 'directory email is not valid: not imported');
    }
    return null;
  }

  return {
    async linkedTo(entry) {
      const rows = await sql.query<LinkedRow>(
        `select ${linkedColumns} from idp_directory_accounts d join idp_users u on u.id = d.user_id
         where d.source = $1 and (d.external_id = $2 or d.dn_key = $3)
         order by (d.external_id = $2) desc nulls last limit 1`,
        [DIRECTORY_SOURCE, entry.externalId ?? null, normalizeDn(entry.dn)],
      );
      return rows[0] ? toLinked(rows[0]) : undefined;
    },

    async list() {
      const rows = await sql.query<LinkedRow>(
        `select ${linkedColumns} from idp_directory_accounts d join idp_users u on u.id = d.user_id
         where d.source = $1 order by u.username_key`,
        [DIRECTORY_SOURCE],
      );
      return rows.map(toLinked);
    },

    async import(entry, roles) {
      let name: ReturnType<typeof parseUsername>;
      try {
        name = parseUsername(entry.username);
      } catch (err) {
        logger.warn({ dn: entry.dn }, 'directory username does not follow the username rule: not imported');
        throw err;
      }
      const id = randomUUID();
      try {
        await sql.transaction(async (tx) => {
          const email = await usableEmail(tx, entry, null);
          await tx.query(
            `insert into idp_users (id, username, username_key, email, email_key, password_hash, enabled)
             values ($1, $2, $3, $4, $5, null, true)`,
            [id, name.display, name.key, email?.display ?? null, email?.key ?? null],
          );
          await tx.query(
            `insert into idp_directory_accounts (user_id, source, dn, dn_key, external_id, display_name)
             values ($1, $2, $3, $4, $5, $6)`,
            [
              id,
              DIRECTORY_SOURCE,
              entry.dn,
              normalizeDn(entry.dn),
              entry.externalId ?? null,
              entry.name ?? null,
            ],
          );
          await setRoles(tx, id, roles);
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') {
          // The name (or the entry) is taken: by a local account, which the directory must not take
          // over, or by a first login of the same entry that ran at the same time (the caller checks).
          throw idpErrors.create('IDP_DIRECTORY_ACCOUNT_CONFLICT');
        }
        throw err;
      }
      await audit.record({
        type: 'directory.account_imported',
        actor: id,
        subject: id,
        details: { source: DIRECTORY_SOURCE, dn: entry.dn, username: name.display, roles },
      });
      return {
        id,
        username: name.display,
        enabled: true,
        dn: entry.dn,
        disabledByDirectory: false,
        email: entry.email ?? null,
        name: entry.name ?? null,
        externalId: entry.externalId ?? null,
        roles,
      };
    },

    async refresh(account, entry, roles) {
      const reEnabled = !account.enabled && account.disabledByDirectory;
      const unchanged =
        !reEnabled &&
        !account.disabledByDirectory &&
        account.dn === entry.dn &&
        account.email === (entry.email ?? null) &&
        account.name === (entry.name ?? null) &&
        (entry.externalId === undefined || account.externalId === entry.externalId) &&
        account.roles.join(' ') === roles.join(' ');
      // Most logins change nothing: no write (and updated_at, which ID tokens carry, stays).
      if (unchanged) return;
      await sql.transaction(async (tx) => {
        const email = await usableEmail(tx, entry, account.id);
        await tx.query(
          `update idp_users set email = $2, email_key = $3,
             enabled = case when $4 then true else enabled end, updated_at = now()
           where id = $1`,
          [account.id, email?.display ?? null, email?.key ?? null, reEnabled],
        );
        await tx.query(
          `update idp_directory_accounts set dn = $2, dn_key = $3, external_id = coalesce($4, external_id),
             display_name = $5, disabled_by_directory = false, synced_at = now()
           where user_id = $1`,
          [account.id, entry.dn, normalizeDn(entry.dn), entry.externalId ?? null, entry.name ?? null],
        );
        await setRoles(tx, account.id, roles);
      });
      if (reEnabled) {
        await audit.record({
          type: 'directory.account_enabled',
          subject: account.id,
          details: { source: DIRECTORY_SOURCE, dn: entry.dn },
        });
      }
    },

    async disable(account, reason) {
      const rows = await sql.query(
        // Only an enabled account is marked: one an admin disabled stays disabled when the entry comes back.
        `with u as (update idp_users set enabled = false, updated_at = now() where id = $1 and enabled returning id)
         update idp_directory_accounts set disabled_by_directory = true, synced_at = now()
         where user_id in (select id from u) returning user_id`,
        [account.id],
      );
      if (rows.length === 0) return;
      await options.endSessions?.(account.id);
      await audit.record({
        type: 'directory.account_disabled',
        subject: account.id,
        details: { source: DIRECTORY_SOURCE, dn: account.dn, reason },
      });
    },
  };
}
