import type { Logger, SharedState } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import { DIRECTORY_SOURCE, type DirectoryAccounts, rolesFor } from './directory-accounts.ts';
import type { DirectoryConfig } from './directory-config.ts';
import type { LdapDirectory } from './ldap-directory.ts';

/**
 * The periodic check of imported accounts against the directory: an account whose entry was
 * removed (or no longer matches the user filter) or is disabled there is disabled here and its
 * sessions end; one the directory had disabled and that is back is enabled again, and everyone's
 * roles follow their groups.
 *
 * - A directory that cannot answer stops the run before anything changes: an outage must never
 *   disable everyone.
 * - One replica runs it per interval: a lease in the shared state (`setIfAbsent`).
 */
export interface SyncReport {
  checked: number;
  disabled: number;
  enabled: number;
}

export async function syncDirectoryAccounts(options: {
  config: DirectoryConfig;
  ldap: LdapDirectory;
  accounts: DirectoryAccounts;
  audit: Audit;
  logger: Logger;
}): Promise<SyncReport> {
  const { config, ldap, accounts, audit, logger } = options;
  const linked = await accounts.list();
  // Every entry is read first: a failure part way changes nothing.
  const entries = [];
  try {
    for (const account of linked) entries.push(await ldap.findUser(account.username));
  } catch (err) {
    await audit.record({
      type: 'directory.sync',
      details: { source: DIRECTORY_SOURCE, outcome: 'directory unavailable', checked: 0 },
    });
    throw err;
  }
  const report: SyncReport = { checked: linked.length, disabled: 0, enabled: 0 };
  for (const [i, account] of linked.entries()) {
    const entry = entries[i];
    if (!entry || entry.disabled) {
      if (account.enabled) {
        await accounts.disable(account, entry?.disabled ?? 'removed from the directory');
        report.disabled++;
      }
      continue;
    }
    if (!account.enabled && !account.disabledByDirectory) continue;
    if (!account.enabled) report.enabled++;
    await accounts.refresh(account, entry, rolesFor(entry, config));
  }
  await audit.record({
    type: 'directory.sync',
    details: { source: DIRECTORY_SOURCE, outcome: 'done', ...report },
  });
  logger.info(report, 'directory sync done');
  return report;
}

/** Run `sync` every `seconds` on one replica at a time; returns the function that stops it. */
export function scheduleDirectorySync(options: {
  seconds: number;
  state: SharedState;
  logger: Logger;
  sync: () => Promise<unknown>;
}): () => void {
  const { seconds, state, logger, sync } = options;
  let running = false;
  const timer = setInterval(() => {
    // A run longer than the interval is not overlapped by the next one on this replica.
    if (running) return;
    running = true;
    void (async () => {
      // The lease ends a little before the next tick so that the next interval can take it.
      if (!(await state.setIfAbsent('idp:directory:sync', String(Date.now()), seconds * 900))) return;
      await sync();
    })()
      .catch((err: unknown) => logger.error({ err }, 'directory sync failed'))
      .finally(() => {
        running = false;
      });
  }, seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
