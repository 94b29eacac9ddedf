import type { GatehouseError, Logger } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import { type DirectoryAccounts, rolesFor } from './directory-accounts.ts';
import type { DirectoryConfig } from './directory-config.ts';
import type { LdapDirectory } from './ldap-directory.ts';

/**
 * The seam between password login (accounts/password-login.ts) and the directory. Password login
 * keeps what every login shares — brute-force counters, the one generic refusal, the audit of the
 * attempt — and asks the directory only for a verdict: who signed in, that the directory has no such
 * user, or why it refuses. IDP_DIRECTORY_UNAVAILABLE is thrown when the directory cannot answer.
 */
export type DirectoryVerdict =
  | { outcome: 'signed-in'; accountId: string }
  | { outcome: 'no-entry' }
  | { outcome: 'refused'; reason: string; accountId: string | null };

export interface PasswordDirectory {
  /** Who answers for a name that has both a local account with a password and a directory entry. */
  readonly precedence: DirectoryConfig['precedence'];
  signIn(username: string, password: string): Promise<DirectoryVerdict>;
  /**
   * Whether the directory has a user of that name: self-service registration refuses such a name, or
   * anyone could take a directory user's name before their first login. Throws
   * IDP_DIRECTORY_UNAVAILABLE when the directory cannot answer.
   */
  hasUser(username: string): Promise<boolean>;
}

/** A name that cannot be a directory user's is never sent to the directory (NUL and other controls above all). */
const controlCharacter = /[\u0000-\u001f\u007f]/;

export function createDirectorySignIn(options: {
  config: DirectoryConfig;
  ldap: LdapDirectory;
  accounts: DirectoryAccounts;
  audit: Audit;
  logger: Logger;
}): PasswordDirectory {
  const { config, ldap, accounts, logger } = options;
  const impossible = (username: string) =>
    username.length === 0 || username.length > 128 || controlCharacter.test(username);
  return {
    precedence: config.precedence,
    async hasUser(username) {
      return !impossible(username) && (await ldap.findUser(username)) !== undefined;
    },
    async signIn(username, password) {
      if (impossible(username)) return { outcome: 'no-entry' };
      if (password.length > 1024) return { outcome: 'refused', reason: 'wrong password', accountId: null };
      const entry = await ldap.findUser(username);
      if (!entry) return { outcome: 'no-entry' };
      const linked = await accounts.linkedTo(entry);
      if (!(await ldap.checkPassword(entry.dn, password))) {
        return { outcome: 'refused', reason: 'wrong password', accountId: linked?.id ?? null };
      }
      if (entry.disabled) {
        if (linked) await accounts.disable(linked, entry.disabled);
        return { outcome: 'refused', reason: 'account disabled', accountId: linked?.id ?? null };
      }
      const roles = rolesFor(entry, config);
      let account = linked;
      if (!account) {
        try {
          const created = await accounts.import(entry, roles);
          return { outcome: 'signed-in', accountId: created.id };
        } catch (err) {
          const code = (err as GatehouseError).code;
          if (code === 'IDP_USERNAME_INVALID') {
            return { outcome: 'refused', reason: 'directory username not allowed here', accountId: null };
          }
          // Two first logins of one entry at once: the other one imported it.
          account = code === 'IDP_DIRECTORY_ACCOUNT_CONFLICT' ? await accounts.linkedTo(entry) : undefined;
          if (!account) {
            if (code === 'IDP_DIRECTORY_ACCOUNT_CONFLICT') {
              logger.warn({ dn: entry.dn }, 'a local account has the username of a directory entry');
            }
            throw err;
          }
        }
      }
      // An account an admin disabled stays disabled whatever the directory says.
      if (!account.enabled && !account.disabledByDirectory) {
        return { outcome: 'refused', reason: 'account disabled', accountId: account.id };
      }
      await accounts.refresh(account, entry, roles);
      logger.debug({ accountId: account.id }, 'directory sign-in');
      return { outcome: 'signed-in', accountId: account.id };
    },
  };
}
