import type { Logger, SharedState, Sql } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import { createDirectoryAccounts } from './directory-accounts.ts';
import { type DirectoryConfig, resolveDirectoryConfig } from './directory-config.ts';
import { createDirectorySignIn, type PasswordDirectory } from './directory-sign-in.ts';
import { type SyncReport, scheduleDirectorySync, syncDirectoryAccounts } from './directory-sync.ts';
import { createLdapDirectory } from './ldap-directory.ts';

/**
 * Directory sign-in (LDAP) as one service: what this folder holds, built from `idp.directory`.
 *
 * - ldap-directory.ts: the LDAP client (search, bind, groups, a bounded pool);
 * - directory-accounts.ts: the accounts directory users sign in to, in SQL;
 * - directory-sign-in.ts: the seam password login (accounts/password-login.ts) calls;
 * - directory-sync.ts: the periodic check that disables accounts gone or disabled in the directory.
 */
export interface DirectoryService {
  readonly config: DirectoryConfig;
  /** What password login (accounts/password-login.ts) asks. */
  readonly passwords: PasswordDirectory;
  sync(): Promise<SyncReport>;
  /** Stops the periodic sync and closes the connections. */
  close(): Promise<void>;
}

export interface DirectoryServiceOptions {
  /** The `idp.directory` section as loaded (validated again here, defaults filled in). */
  config: unknown;
  mode?: 'development' | 'production' | undefined;
  sql: Sql;
  state: SharedState;
  audit: Audit;
  logger: Logger;
  endSessions?: ((userId: string) => Promise<unknown>) | undefined;
  /** false: no periodic sync (a test calls `sync()` itself). Default true. */
  schedule?: boolean | undefined;
}

/** The directory service, or undefined when `idp.directory.enabled` is off. */
export function createDirectoryService(options: DirectoryServiceOptions): DirectoryService | undefined {
  const config = resolveDirectoryConfig(options.config ?? {}, options.mode);
  if (!config.enabled) return undefined;
  const { sql, audit } = options;
  const logger = options.logger.child({ component: 'directory' });
  const ldap = createLdapDirectory(config, logger);
  const accounts = createDirectoryAccounts({ sql, audit, logger, endSessions: options.endSessions });
  const sync = () => syncDirectoryAccounts({ config, ldap, accounts, audit, logger });
  const stop =
    options.schedule !== false && config.syncIntervalSeconds > 0
      ? scheduleDirectorySync({ seconds: config.syncIntervalSeconds, state: options.state, logger, sync })
      : () => {};
  return {
    config,
    passwords: createDirectorySignIn({ config, ldap, accounts, audit, logger }),
    sync,
    async close() {
      stop();
      await ldap.close();
    },
  };
}

const byRuntime = new WeakMap<object, DirectoryService | undefined>();

/** One directory service per identity provider runtime (account-services.ts builds it, createIdp closes it). */
export function directoryServiceOf(
  runtime: object,
  build: () => DirectoryService | undefined,
): DirectoryService | undefined {
  if (!byRuntime.has(runtime)) byRuntime.set(runtime, build());
  return byRuntime.get(runtime);
}

export async function closeDirectoryServiceOf(runtime: object): Promise<void> {
  await byRuntime.get(runtime)?.close();
}
