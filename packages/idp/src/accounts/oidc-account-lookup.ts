import { currentUnitOfWork } from '../storage/unit-of-work.ts';
import type { AccountJson } from './account-read-ahead-sql.ts';
import type { AccountRows } from './account-rows.ts';
import type { Accounts, OidcAccount } from './accounts.ts';

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

/** `oidcAccount` from what the adapter read ahead (`accountReadAhead.byId`). */
function oidcAccountFromReadAhead(value: unknown): OidcAccount | undefined {
  const row = value as AccountJson | null;
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

/** `Accounts.findAccount` on the account rows, taking what the request's unit of work read ahead. */
export function createFindAccount(rows: Pick<AccountRows, 'rowWithRolesById'>): Accounts['findAccount'] {
  async function oidcAccount(sub: string): Promise<OidcAccount | undefined> {
    const full = await rows.rowWithRolesById(sub);
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

  /**
   * Lookups per request (oidc-provider's context): one token request asks for the same account up to
   * three times (the grant, the ID token's claims, the access token's roles), a login's resume once
   * more. Within one request they share one read; every new request reads the account again, so a
   * disabled account or a changed role takes effect from the next request on.
   */
  const lookupsByRequest = new WeakMap<object, Map<string, Promise<OidcAccount | undefined>>>();

  return (ctx, sub) => {
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
  };
}
