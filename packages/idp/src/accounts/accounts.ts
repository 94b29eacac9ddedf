import { randomUUID } from 'node:crypto';
import type { Logger, SharedState, Sql, SqlTx } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import type { PasswordDirectory } from '../directory/directory-sign-in.ts';
import { idpErrors } from '../errors.ts';
import {
  type AccountReadAhead,
  currentUnitOfWork,
  registerAccountReadAhead,
} from '../storage/unit-of-work.ts';
import type { AccountsConfig } from './accounts-config.ts';
import { type BruteForceGuard, createBruteForceGuard } from './brute-force.ts';
import { parseEmail } from './email.ts';
import { checkPassword } from './password-policy.ts';
import { createPasswordHasher, type PasswordHasher } from './passwords.ts';
import { createRoles, effectiveRolesQuery, type Roles } from './roles.ts';
import { parseUsername, usernameKey } from './username.ts';

/**
 * User accounts on the SQL storage: creation under the username and password rules, password
 * login with brute-force protection and audit, roles (direct and through groups), and the
 * `findAccount` oidc-provider calls.
 */
export interface Account {
  id: string;
  username: string;
  email: string | null;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  /**
   * Whether the account has an active second factor (mfa/), where the read includes it (a login, a
   * lookup by id or name): a login reads it with the account, so that deciding on the second step
   * costs no statement of its own.
   */
  secondFactor?: boolean;
}

export interface AccountWithRoles extends Account {
  /** Direct roles and roles through groups, sorted, without duplicates. */
  roles: string[];
  directRoles: string[];
  groups: string[];
}

export interface OidcAccount {
  accountId: string;
  username: string;
  roles: string[];
  claims(use: string, scope: string): Promise<Record<string, unknown>>;
}

export interface LoginSource {
  /** Source address (after trusted-proxy resolution). */
  ip: string;
  /** The OAuth client for hosted-page logins; absent for the first-party session API. */
  clientId?: string | undefined;
  /** What the login came through, for the audit trail: `session-api`, `interaction`. */
  via: string;
}

export interface CreateAccountInput {
  username: string;
  password: string;
  email?: string | undefined;
  enabled?: boolean | undefined;
  roles?: string[] | undefined;
  groups?: string[] | undefined;
}

export interface CreateAccountOptions {
  /** Skip the common-password check: development demo fixtures only, never user input. */
  allowCommonPassword?: boolean;
  /** Who creates the account, for the audit trail. */
  actor?: string | undefined;
  sourceIp?: string | undefined;
}

export interface Accounts {
  readonly roles: Roles;
  readonly audit: Audit;
  /** The directory password logins may go to (directory/), when one is configured. */
  readonly directory?: PasswordDirectory | undefined;
  /**
   * The account oidc-provider asks for: taken from the request's unit of work when the adapter read
   * it with the code, refresh token or resumed interaction that names it (`accountReadAheadOf`).
   */
  findAccount(ctx: unknown, sub: string): Promise<OidcAccount | undefined>;
  /**
   * Check a username and password. Resolves to the account, or throws IDP_INVALID_CREDENTIALS
   * (wrong password, unknown or disabled account: one answer for all three), IDP_LOGIN_THROTTLED or
   * IDP_LOGIN_LOCKED. An unknown name costs the same argon2 work as a known one.
   */
  authenticate(username: string, password: string, source: LoginSource): Promise<AccountWithRoles>;
  /**
   * `authenticate` for a caller that needs only who signed in (the hosted login page): the same
   * checks, answers, brute-force accounting and audit trail, without reading the roles.
   */
  verifyCredentials(username: string, password: string, source: LoginSource): Promise<Account>;
  create(input: CreateAccountInput, options?: CreateAccountOptions): Promise<AccountWithRoles>;
  get(id: string): Promise<AccountWithRoles | undefined>;
  getByUsername(username: string): Promise<AccountWithRoles | undefined>;
  list(options?: { limit?: number; offset?: number; search?: string }): Promise<Account[]>;
  update(
    id: string,
    changes: { email?: string | null; enabled?: boolean },
    actor?: string,
  ): Promise<AccountWithRoles>;
  setPassword(id: string, password: string, actor?: string): Promise<void>;
  delete(id: string, actor?: string): Promise<boolean>;
}

export interface AccountsOptions {
  config: AccountsConfig;
  state: SharedState;
  audit: Audit;
  logger?: Logger | undefined;
  /** Tests pass a cheaper hasher; production uses config.passwordHash. */
  hasher?: PasswordHasher | undefined;
  bruteForce?: BruteForceGuard | undefined;
  /** Directory sign-in (directory/): asked for names without a local password, or first by its precedence. */
  directory?: PasswordDirectory | undefined;
}

interface UserRow {
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
type AccountRow = Omit<UserRow, 'password_hash'>;

interface RolesRow {
  roles: string[];
  direct_roles: string[];
  groups: string[];
}

const controlCharacter = /[\u0000-\u001f\u007f]/;
const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `uuidShape` for PostgreSQL: an id of another shape is no account, and must not fail the cast to uuid. */
const uuidPattern = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const accountColumns = 'id, username, email, enabled, created_at, updated_at';
const userColumns = `${accountColumns}, password_hash`;
/** Whether the user `id` (an SQL expression) has an active second factor (mfa/second-factors.ts). */
const secondFactorColumn = (id: string) =>
  `(exists(select 1 from idp_totp t where t.user_id = ${id} and t.confirmed_at is not null)
    or exists(select 1 from idp_passkeys p where p.user_id = ${id}))`;
/**
 * A user's roles as three array columns of the same statement, for the user id SQL expression
 * `id`: a login or an account lookup is one round trip (and one statement for PostgreSQL to parse
 * and plan) instead of four.
 */
const rolesColumns = (id: string) => `array(${effectiveRolesQuery(id)}) as roles,
  array(select role from idp_user_roles where user_id = ${id} order by role) as direct_roles,
  array(select group_name from idp_group_members where user_id = ${id} order by group_name) as groups`;

function toAccount(r: AccountRow): Account {
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

function toAccountWithRoles(r: AccountRow, roles: RolesRow): AccountWithRoles {
  return { ...toAccount(r), roles: roles.roles, directRoles: roles.direct_roles, groups: roles.groups };
}

function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint_name?: string; constraint?: string; message?: string };
  if (e?.code !== '23505') return undefined;
  return e.constraint_name ?? e.constraint ?? e.message ?? '';
}

/** Whether no account can have the name `username` (not worth a statement). */
const impossibleName = (username: string) =>
  // PostgreSQL refuses NUL in text: such a name cannot exist, and must not become a 500.
  username.length > 128 || controlCharacter.test(username);

/**
 * The row `rowByUsername` reads, as one json value (null when there is none), for the username key
 * given as the placeholder `p`: the login post reads it with the interaction (`accountReadAhead.byName`).
 */
const userJson = (p: string) =>
  `(select json_build_object('id', id, 'username', username, 'email', email, 'enabled', enabled,
      'created_at', created_at, 'updated_at', updated_at, 'password_hash', password_hash,
      'second_factor', ${secondFactorColumn('idp_users.id')})
    from idp_users where username_key = ${p})`;

/**
 * The account `oidcAccount` reads, as one json value (null when there is none), for the id given
 * as the SQL text expression `idText`: the adapter selects it with the row that names the account.
 */
const accountJsonById = (idText: string) =>
  `(select json_build_object('id', u.id, 'username', u.username, 'email', u.email, 'enabled', u.enabled,
      'email_verified', u.email_verified, 'updated_at', floor(extract(epoch from u.updated_at)), 'roles', array(${effectiveRolesQuery('u.id')}))
    from idp_users u where u.id = case when (${idText}) ~ '${uuidPattern}' then (${idText})::uuid end)`;

/**
 * How the adapter reads this module's accounts in the statement of the row that names them (the
 * request's unit of work keeps what was read; `findAccount`, `verifyCredentials` and `authenticate`
 * take it).
 */
const accountReadAhead: AccountReadAhead = {
  byId: accountJsonById,
  byName: (username) =>
    impossibleName(username) ? undefined : { column: userJson, param: usernameKey(username) },
};

export function createAccounts(sql: Sql, options: AccountsOptions): Accounts {
  const { config, audit, logger } = options;
  const hasher = options.hasher ?? createPasswordHasher(config.passwordHash);
  const guard = options.bruteForce ?? createBruteForceGuard(options.state, config.bruteForce, logger);
  const roles = createRoles(sql, audit);
  const { directory } = options;

  async function withRoles(q: SqlTx, row: UserRow): Promise<AccountWithRoles> {
    const [found] = await q.query<RolesRow>(`select ${rolesColumns('$1')}`, [row.id]);
    return toAccountWithRoles(row, found!);
  }

  async function rowById(id: string): Promise<UserRow | undefined> {
    if (!uuidShape.test(id)) return undefined;
    const rows = await sql.query<UserRow>(`select ${userColumns} from idp_users where id = $1`, [id]);
    return rows[0];
  }

  /** The user (without the password hash) and their roles, in one statement. */
  async function rowWithRolesById(id: string): Promise<(AccountRow & RolesRow) | undefined> {
    if (!uuidShape.test(id)) return undefined;
    const rows = await sql.query<AccountRow & RolesRow>(
      `select ${accountColumns}, u.email_verified, ${rolesColumns('u.id')}, ${secondFactorColumn('u.id')} as second_factor
       from idp_users u where id = $1`,
      [id],
    );
    return rows[0];
  }

  async function rowByUsername(username: string): Promise<UserRow | undefined> {
    if (impossibleName(username)) return undefined;
    const readAhead = currentUnitOfWork()?.takeLoginAccount(usernameKey(username));
    if (readAhead) return userRowFromReadAhead(readAhead.value);
    const rows = await sql.query<UserRow>(
      `select ${userColumns}, ${secondFactorColumn('idp_users.id')} as second_factor
       from idp_users where username_key = $1`,
      [usernameKey(username)],
    );
    return rows[0];
  }

  function userRowFromReadAhead(value: unknown): UserRow | undefined {
    const row = value as
      | (Omit<UserRow, 'created_at' | 'updated_at'> & Record<'created_at' | 'updated_at', string>)
      | null;
    if (!row) return undefined;
    return { ...row, created_at: new Date(row.created_at), updated_at: new Date(row.updated_at) };
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

  /** What oidc-provider gets for an enabled account. */
  function toOidcAccount(account: {
    id: string;
    username: string;
    email: string | null;
    emailVerified: boolean;
    updatedAtSeconds: number;
    roles: string[];
  }): OidcAccount {
    return {
      accountId: account.id,
      username: account.username,
      roles: account.roles,
      async claims() {
        return {
          sub: account.id,
          preferred_username: account.username,
          ...(account.email ? { email: account.email, email_verified: account.emailVerified } : {}),
          updated_at: account.updatedAtSeconds,
          roles: account.roles,
        };
      },
    };
  }

  async function oidcAccount(sub: string): Promise<OidcAccount | undefined> {
    const full = await rowWithRolesById(sub);
    if (!full?.enabled) return undefined;
    return toOidcAccount({
      id: full.id,
      username: full.username,
      email: full.email,
      emailVerified: full.email_verified === true,
      updatedAtSeconds: Math.floor(full.updated_at.getTime() / 1000),
      roles: full.roles,
    });
  }

  /** `oidcAccount` from what the adapter read ahead (`accountReadAhead.byId`). */
  function oidcAccountFromReadAhead(value: unknown): OidcAccount | undefined {
    const row = value as {
      id: string;
      username: string;
      email: string | null;
      email_verified?: boolean;
      enabled: boolean;
      updated_at: number;
      roles: string[];
    } | null;
    if (!row?.enabled) return undefined;
    return toOidcAccount({
      id: row.id,
      username: row.username,
      email: row.email,
      emailVerified: row.email_verified === true,
      updatedAtSeconds: row.updated_at,
      roles: row.roles,
    });
  }

  /**
   * Lookups per request (oidc-provider's context): one token request asks for the same account up to
   * three times (the grant, the ID token's claims, the access token's roles), a login's resume once
   * more. Within one request they now share one read; every new request reads the account again, so a
   * disabled account or a changed role takes effect exactly as before, from the next request on.
   */
  const lookupsByRequest = new WeakMap<object, Map<string, Promise<OidcAccount | undefined>>>();

  /** `authenticate` and `verifyCredentials`: the roles are read only when asked for. */
  async function signIn(
    username: string,
    password: string,
    source: LoginSource,
    readRoles: boolean,
  ): Promise<Account | AccountWithRoles> {
    const subject = { usernameKey: usernameKey(username.slice(0, 256)), ip: source.ip };
    const fail = async (reason: string, accountId: string | null) => {
      const { locked } = await guard.recordFailure(subject);
      await audit.record({
        type: locked ? 'login.locked' : 'login.failed',
        actor: accountId,
        subject: accountId,
        clientId: source.clientId,
        sourceIp: source.ip,
        // The typed name is kept only when no account matched it, cut short: it may be a password typed in the wrong field.
        details: { reason, via: source.via, ...(accountId ? {} : { username: username.slice(0, 64) }) },
      });
      return idpErrors.create('IDP_INVALID_CREDENTIALS');
    };
    try {
      await guard.check(subject);
    } catch (err) {
      await audit.record({
        type: 'login.failed',
        clientId: source.clientId,
        sourceIp: source.ip,
        details: { reason: (err as { code?: string }).code, via: source.via },
      });
      throw err;
    }
    // Oversized input is refused after the same argon2 work as any other failure.
    // The roles are read only once the password is right: a wrong password for an existing name
    // and an unknown name cost the same statements, and failed guesses never read them.
    const row = password.length <= 1024 ? await rowByUsername(username) : undefined;
    if (directory && (!row?.password_hash || directory.precedence === 'directory-first')) {
      const id = await directorySignIn(username, password, source, row, fail);
      if (id !== undefined) return finishSignIn(subject, source, id, readRoles);
    }
    if (!row?.password_hash) {
      await hasher.verifyDummy(password.slice(0, 1024));
      throw await fail(row ? 'no local password' : 'unknown account', row?.id ?? null);
    }
    const ok = await hasher.verify(row.password_hash, password);
    if (!ok) throw await fail('wrong password', row.id);
    if (!row.enabled) throw await fail('account disabled', row.id);
    await guard.recordSuccess(subject);
    if (hasher.needsRehash(row.password_hash)) {
      // The password is at hand only now: upgrade the stored hash to the current parameters.
      const fresh = await hasher.hash(password);
      await sql.query('update idp_users set password_hash = $2 where id = $1 and password_hash = $3', [
        row.id,
        fresh,
        row.password_hash,
      ]);
      logger?.info({ accountId: row.id }, 'password rehashed with current parameters');
    }
    const account = readRoles ? await withRoles(sql, row) : toAccount(row);
    await audit.record({
      type: 'login.succeeded',
      actor: row.id,
      subject: row.id,
      clientId: source.clientId,
      sourceIp: source.ip,
      details: { via: source.via },
    });
    return account;
  }

  /**
   * The directory's part of a password login: the signed-in account's id, or undefined when the
   * local account of that name answers instead (the directory has no such user, or cannot answer for
   * a name with a local password). A directory outage is IDP_DIRECTORY_UNAVAILABLE for anyone else:
   * audited, not counted as a failed guess.
   */
  async function directorySignIn(
    username: string,
    password: string,
    source: LoginSource,
    row: UserRow | undefined,
    fail: (reason: string, accountId: string | null) => Promise<Error>,
  ): Promise<string | undefined> {
    let verdict: Awaited<ReturnType<PasswordDirectory['signIn']>>;
    try {
      verdict = await directory!.signIn(username, password);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'IDP_DIRECTORY_UNAVAILABLE' && row?.password_hash) return undefined;
      await audit.record({
        type: 'login.failed',
        actor: row?.id ?? null,
        subject: row?.id ?? null,
        clientId: source.clientId,
        sourceIp: source.ip,
        details: {
          reason: code === 'IDP_DIRECTORY_UNAVAILABLE' ? 'directory unavailable' : code,
          via: source.via,
        },
      });
      throw err;
    }
    if (verdict.outcome === 'no-entry') return undefined;
    if (verdict.outcome === 'refused') {
      // The argon2 work an unknown name costs, so that timing does not tell directory users apart.
      await hasher.verifyDummy(password.slice(0, 1024));
      throw await fail(verdict.reason, verdict.accountId);
    }
    return verdict.accountId;
  }

  /** A directory login's end: the same success accounting and audit as a local one. */
  async function finishSignIn(
    subject: { usernameKey: string; ip: string },
    source: LoginSource,
    accountId: string,
    readRoles: boolean,
  ): Promise<Account | AccountWithRoles> {
    await guard.recordSuccess(subject);
    const full = await rowWithRolesById(accountId);
    if (!full) throw idpErrors.create('IDP_INVALID_CREDENTIALS');
    await audit.record({
      type: 'login.succeeded',
      actor: accountId,
      subject: accountId,
      clientId: source.clientId,
      sourceIp: source.ip,
      details: { via: source.via, source: 'directory' },
    });
    return readRoles ? toAccountWithRoles(full, full) : toAccount(full);
  }

  const accounts: Accounts = {
    roles,
    audit,
    directory,

    findAccount(ctx, sub) {
      if (ctx === null || typeof ctx !== 'object') return oidcAccount(sub);
      let lookups = lookupsByRequest.get(ctx);
      if (!lookups) {
        lookups = new Map();
        lookupsByRequest.set(ctx, lookups);
      }
      let found = lookups.get(sub);
      if (!found) {
        const forRequest = lookups;
        const readAhead = currentUnitOfWork()?.takeAccount(sub);
        found = readAhead ? Promise.resolve(oidcAccountFromReadAhead(readAhead.value)) : oidcAccount(sub);
        forRequest.set(sub, found);
        // A failed read is not remembered: a later lookup in the same request tries again.
        found.catch(() => forRequest.delete(sub));
      }
      return found;
    },

    async authenticate(username, password, source) {
      return (await signIn(username, password, source, true)) as AccountWithRoles;
    },

    verifyCredentials(username, password, source) {
      return signIn(username, password, source, false);
    },

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
          return withRoles(tx, rows[0]!);
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
        return withRoles(sql, rows[0]!);
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
  registerAccountReadAhead(accounts, accountReadAhead);
  return accounts;
}
