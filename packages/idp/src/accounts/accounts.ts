import type { Logger, SharedState, Sql } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import type { PasswordDirectory } from '../directory/directory-sign-in.ts';
import { registerAccountReadAhead } from '../storage/unit-of-work.ts';
import { accountReadAhead } from './account-read-ahead-sql.ts';
import { createAccountRows } from './account-rows.ts';
import type { AccountsConfig } from './accounts-config.ts';
import { type BruteForceGuard, createBruteForceGuard } from './brute-force.ts';
import { createFindAccount } from './oidc-account-lookup.ts';
import { createPasswordLogin } from './password-login.ts';
import { createPasswordHasher, type PasswordHasher } from './passwords.ts';
import { createRoles, type Roles } from './roles.ts';

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

/**
 * The store: account rows (account-rows.ts), password login (password-login.ts) and oidc-provider's
 * lookup (oidc-account-lookup.ts) on one SQL storage, registered with the read-ahead the adapter
 * uses for its accounts (account-read-ahead-sql.ts).
 */
export function createAccounts(sql: Sql, options: AccountsOptions): Accounts {
  const { config, audit, logger } = options;
  const hasher = options.hasher ?? createPasswordHasher(config.passwordHash);
  const guard = options.bruteForce ?? createBruteForceGuard(options.state, config.bruteForce, logger);
  const roles = createRoles(sql, audit);
  const { directory } = options;
  const rows = createAccountRows(sql, { hasher, roles, audit });
  const signIn = createPasswordLogin(sql, { hasher, guard, audit, logger, directory, rows });

  const accounts: Accounts = {
    roles,
    audit,
    directory,
    findAccount: createFindAccount(rows),

    async authenticate(username, password, source) {
      return (await signIn(username, password, source, true)) as AccountWithRoles;
    },

    verifyCredentials(username, password, source) {
      return signIn(username, password, source, false);
    },

    create: rows.create,
    get: rows.get,
    getByUsername: rows.getByUsername,
    list: rows.list,
    update: rows.update,
    setPassword: rows.setPassword,
    delete: rows.delete,
  };
  registerAccountReadAhead(accounts, accountReadAhead);
  return accounts;
}
