import type { ServerResponse } from 'node:http';
import { accountServices } from '../accounts/account-services.ts';
import { resolveAccountsConfig } from '../accounts/accounts-config.ts';
import type { AuditEventType } from '../audit/audit.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { revokeEverythingOf as revokeAccount } from '../revocation/account-revocation.ts';
import type { Caller } from './admin-route.ts';

/**
 * What the admin API's handlers share: the audit of a change, and the revocations a change brings
 * with it (a disabled client's tokens, a user's sessions after a role is lost).
 */
export type AdminChanges = ReturnType<typeof adminChanges>;

export function adminChanges(idp: IdpRuntime) {
  const services = accountServices(idp);
  const { accounts, sessions, audit } = services;
  const { sql } = idp;

  // How long a revocation of every token of a client or user must last: until the last token it
  // names has expired (access tokens, and for users the first-party session tokens too).
  const tolerance = idp.config.clockToleranceSeconds;
  const accessTokenLifetime = idp.config.accessTokenTtlSeconds + tolerance;
  const sessionTokenLifetime =
    resolveAccountsConfig((idp.config as { accounts?: unknown }).accounts ?? {}).session.ttlSeconds +
    tolerance;

  return {
    idp,
    ...services,

    /** An `admin.change` audit event: who did what to which subject. */
    change: (caller: Caller, subject: string, action: string, details: Record<string, unknown> = {}) =>
      audit.record({
        type: 'admin.change' as AuditEventType,
        actor: caller.actor,
        subject,
        details: { action, ...details },
      }),

    /**
     * Revoke every token issued so far to a client (`client`) or a user (`sub`), on every gateway and
     * at introspection, through the durable revocation path. Tokens issued from `graceSeconds` on are
     * not named, so a re-enabled user signs in again normally.
     */
    async revokeTokensOf(kind: 'client' | 'sub', value: string, graceSeconds = 1): Promise<void> {
      const notBefore = Math.floor(Date.now() / 1000) + graceSeconds;
      const lifetime =
        kind === 'sub' ? Math.max(accessTokenLifetime, sessionTokenLifetime) : accessTokenLifetime;
      await idp.revocations.revoke([{ kind, value, notBefore, expiresAt: notBefore + lifetime }]);
    },

    /** End everything a user holds: every token, first-party sessions and OAuth grants (their refresh tokens). */
    revokeEverythingOf: (userId: string, reason: string, caller: Caller): Promise<void> =>
      revokeAccount(idp, userId, reason, caller.actor),

    /**
     * A first-party session token carries the roles it was issued with, and gateways trust it until it
     * expires (hours). When a user loses a role, end their sessions (revoked on every gateway at once)
     * so that they sign in again and get the roles they hold now.
     */
    async endSessionsAfterRoleLoss(userIds: Iterable<string>, caller: Caller): Promise<void> {
      for (const id of new Set(userIds))
        await sessions.endAllOf(id, 'roles changed', { actor: caller.actor });
    },

    /** Who holds a role, directly or through a group. */
    async holdersOf(role: string): Promise<string[]> {
      const rows = await sql.query<{ user_id: string }>(
        `select user_id from idp_user_roles where role = $1
         union
         select gm.user_id from idp_group_members gm join idp_group_roles gr on gr.group_name = gm.group_name
         where gr.role = $1`,
        [role],
      );
      return rows.map((r) => r.user_id);
    },

    membersOf: async (group: string) => (await accounts.roles.getGroup(group))?.members ?? [],
  };
}

export const notFound = (what: string) => idpErrors.create('IDP_NOT_FOUND', `No such ${what}`);
export const noContent = (res: ServerResponse) => sendJson(res, 204, undefined);
