import type { Logger, SharedState, Sql, TrustedProxies } from '@gatehouse/core';
import { type Audit, createAudit } from '../audit/audit.ts';
import { createDirectoryService, directoryServiceOf } from '../directory/directory-service.ts';
import { idpTrustedProxies } from '../http/client-address.ts';
import type { IdpRuntime } from '../index.ts';
import { createSessionStore, type SessionStore } from '../sessions/sessions.ts';
import { type Accounts, createAccounts } from './accounts.ts';
import { type AccountsConfig, resolveAccountsConfig } from './accounts-config.ts';

/**
 * What the session API, the login pages and the admin API share, built once per identity provider
 * from its runtime: the account store, the audit trail, the first-party session store, the
 * `idp.accounts` configuration and the proxies it trusts (`trustedProxies`).
 */
export interface AccountServices {
  accounts: Accounts;
  audit: Audit;
  sessions: SessionStore;
  config: AccountsConfig;
  trusted: TrustedProxies;
}

const built = new WeakMap<IdpRuntime, AccountServices>();

function isAccounts(value: unknown): value is Accounts {
  return typeof (value as Partial<Accounts> | undefined)?.authenticate === 'function';
}

/** The `idp.accounts` section when the idp schema mounts it, else the defaults. */
export function accountsConfigOf(idp: Pick<IdpRuntime, 'config'>): AccountsConfig {
  return resolveAccountsConfig((idp.config as { accounts?: unknown }).accounts ?? {});
}

export function accountServices(idp: IdpRuntime): AccountServices {
  const existing = built.get(idp);
  if (existing) return existing;
  const config = accountsConfigOf(idp);
  const audit = isAccounts(idp.accounts)
    ? idp.accounts.audit
    : createAudit(idp.sql, { logger: idp.logger, onRecord: idp.countAuditEvent });
  // The account store keeps nothing in memory, so a second instance over the same SQL and state is
  // equivalent to the one oidc-provider's findAccount uses.
  const sessions = createSessionStore({ sql: idp.sql, revocations: idp.revocations, audit });
  // The directory (idp.directory) signs people in through the account store this builds; a given
  // account store brings its own.
  const directory = isAccounts(idp.accounts)
    ? undefined
    : directoryServiceOf(idp, () =>
        createDirectoryService({
          config: (idp.config as { directory?: unknown }).directory,
          mode: idp.mode,
          sql: idp.sql,
          state: idp.state,
          audit,
          logger: idp.logger,
          endSessions: (userId) => sessions.endAllOf(userId, 'directory'),
        }),
      );
  const accounts = isAccounts(idp.accounts)
    ? idp.accounts
    : createAccounts(idp.sql, {
        config,
        state: idp.state,
        audit,
        logger: idp.logger,
        directory: directory?.passwords,
      });
  const services = { accounts, audit, sessions, config, trusted: idpTrustedProxies(config.trustedProxies) };
  built.set(idp, services);
  return services;
}

/**
 * The account store createIdp needs as `accounts` (its findAccount feeds oidc-provider), built from
 * the `idp.accounts` section: `createIdp({ ..., accounts: createIdpAccounts({ sql, state, logger, config: config.idp.accounts }) })`.
 */
export function createIdpAccounts(options: {
  sql: Sql;
  state: SharedState;
  logger: Logger;
  config?: unknown;
}): Accounts {
  const audit = createAudit(options.sql, { logger: options.logger });
  return createAccounts(options.sql, {
    config: resolveAccountsConfig(options.config ?? {}),
    state: options.state,
    audit,
    logger: options.logger,
  });
}
