import { randomUUID } from 'node:crypto';
import type { Sql, SqlTx } from '@gatehouse/core';
import { parseEmail } from '../accounts/email.ts';
import { parseUsername } from '../accounts/username.ts';
import { idpErrors } from '../errors.ts';

/**
 * Upstream identities linked to local accounts (`idp_linked_identities`). An identity is linked to
 * at most one account, an account has at most one identity per provider. Unlinking refuses to
 * remove an account's last way in (no password, no directory entry, no other identity).
 */
export interface LinkedIdentity {
  provider: string;
  subject: string;
  userId: string;
  upstreamUsername: string | null;
  linkedAt: Date;
}

interface Row {
  provider: string;
  subject: string;
  user_id: string;
  upstream_username: string | null;
  linked_at: Date;
}

const toIdentity = (r: Row): LinkedIdentity => ({
  provider: r.provider,
  subject: r.subject,
  userId: r.user_id,
  upstreamUsername: r.upstream_username,
  linkedAt: r.linked_at,
});

export interface NewBrokeredAccount {
  username: string;
  /** Only a verified upstream email is given here; taken only when no other account has it. */
  email?: string | undefined;
  roles: string[];
}

export interface LinkedIdentities {
  find(provider: string, subject: string): Promise<LinkedIdentity | undefined>;
  listOf(userId: string): Promise<LinkedIdentity[]>;
  /** Throws IDP_BROKER_IDENTITY_TAKEN when the identity (or the provider, for this account) is linked already. */
  link(userId: string, provider: string, subject: string, upstreamUsername: string | null): Promise<void>;
  /** Throws IDP_BROKER_IDENTITY_NOT_FOUND, or IDP_BROKER_LAST_SIGN_IN for the last way in. */
  unlink(userId: string, provider: string): Promise<LinkedIdentity>;
  /** The linked identity, its last sign-in set to now (one statement); undefined when not linked. */
  signIn(provider: string, subject: string): Promise<LinkedIdentity | undefined>;
  /** A new account without a password, linked to the identity, in one transaction. */
  createAccount(
    input: NewBrokeredAccount,
    identity: { provider: string; subject: string; upstreamUsername: string | null },
  ): Promise<{ id: string; username: string }>;
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

export function createLinkedIdentities(sql: Sql): LinkedIdentities {
  async function insertLink(
    tx: Sql | SqlTx,
    userId: string,
    provider: string,
    subject: string,
    upstreamUsername: string | null,
  ) {
    try {
      await tx.query(
        `insert into idp_linked_identities (provider, subject, user_id, upstream_username)
         values ($1, $2, $3, $4)`,
        [provider, subject, userId, upstreamUsername],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw idpErrors.create('IDP_BROKER_IDENTITY_TAKEN');
      throw err;
    }
  }

  return {
    async find(provider, subject) {
      const rows = await sql.query<Row>(
        'select * from idp_linked_identities where provider = $1 and subject = $2',
        [provider, subject],
      );
      return rows[0] ? toIdentity(rows[0]) : undefined;
    },

    async listOf(userId) {
      const rows = await sql.query<Row>(
        'select * from idp_linked_identities where user_id = $1 order by provider',
        [userId],
      );
      return rows.map(toIdentity);
    },

    link: (userId, provider, subject, upstreamUsername) =>
      insertLink(sql, userId, provider, subject, upstreamUsername),

    async unlink(userId, provider) {
      return sql.transaction(async (tx) => {
        // The account row is locked so that two unlinks at once cannot both pass the last-way-in check.
        const account = await tx.query<{ has_password: boolean; directory: boolean }>(
          `select u.password_hash is not null as has_password,
             exists (select 1 from idp_directory_accounts d where d.user_id = u.id) as directory
           from idp_users u where u.id = $1 for update`,
          [userId],
        );
        const rows = await tx.query<Row>(
          'select * from idp_linked_identities where user_id = $1 and provider = $2',
          [userId, provider],
        );
        if (!account[0] || !rows[0]) throw idpErrors.create('IDP_BROKER_IDENTITY_NOT_FOUND');
        const others = await tx.query(
          'select 1 from idp_linked_identities where user_id = $1 and provider <> $2',
          [userId, provider],
        );
        if (!account[0].has_password && !account[0].directory && others.length === 0) {
          throw idpErrors.create('IDP_BROKER_LAST_SIGN_IN');
        }
        await tx.query('delete from idp_linked_identities where user_id = $1 and provider = $2', [
          userId,
          provider,
        ]);
        return toIdentity(rows[0]);
      });
    },

    async signIn(provider, subject) {
      const rows = await sql.query<Row>(
        `update idp_linked_identities set last_login_at = now() where provider = $1 and subject = $2
         returning *`,
        [provider, subject],
      );
      return rows[0] ? toIdentity(rows[0]) : undefined;
    },

    async createAccount(input, identity) {
      const base = parseUsername(input.username);
      // A taken name gets a numbered suffix: the upstream's name is a proposal, never a claim on an account.
      for (let attempt = 0; attempt < 10; attempt++) {
        const name = attempt === 0 ? base : parseUsername(`${base.display.slice(0, 60)}-${attempt + 1}`);
        const id = randomUUID();
        try {
          await sql.transaction(async (tx) => {
            let email: ReturnType<typeof parseEmail> | undefined;
            if (input.email) {
              try {
                email = parseEmail(input.email);
                const taken = await tx.query('select 1 from idp_users where email_key = $1', [email.key]);
                if (taken.length > 0) email = undefined;
              } catch {
                email = undefined;
              }
            }
            await tx.query(
              `insert into idp_users (id, username, username_key, email, email_key, password_hash, enabled)
               values ($1, $2, $3, $4, $5, null, true)`,
              [id, name.display, name.key, email?.display ?? null, email?.key ?? null],
            );
            await tx.query('insert into idp_roles (name) select unnest($1::text[]) on conflict do nothing', [
              input.roles,
            ]);
            await tx.query(
              'insert into idp_user_roles (user_id, role) select $1, unnest($2::text[]) on conflict do nothing',
              [id, input.roles],
            );
            await insertLink(tx, id, identity.provider, identity.subject, identity.upstreamUsername);
          });
          return { id, username: name.display };
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === 'IDP_BROKER_IDENTITY_TAKEN') throw err;
          if (!isUniqueViolation(err)) throw err;
        }
      }
      throw idpErrors.create('IDP_USERNAME_TAKEN');
    },
  };
}
