import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import type { IdpRuntime } from '../index.ts';
import { recoveryServiceOf } from '../recovery/recovery-service.ts';

/**
 * What a signed-in person may do to their own account, for the account page and its session-API
 * routes: profile, password, sessions (first-party and hosted sign-ins), and the applications they
 * let in (oidc-provider grants). Every change is audited with the person as actor; every refusal is
 * a code of the catalog and changes nothing.
 */
export interface Who {
  accountId: string;
  /** The sid of the request's own session (first-party sid, or a hosted sign-in's sid), if any. */
  sid?: string | undefined;
  ip: string;
  /** What the change came through, for the audit trail: `account-page`, `session-api`. */
  via: string;
}

export interface Profile {
  id: string;
  username: string;
  email: string | null;
  emailVerified: boolean;
  roles: string[];
  /** Whether the account has a password of its own (a brokered or directory account may not). */
  password: boolean;
  /** Whether an email change waits for its verification link (mail is configured). */
  emailChangeNeedsVerification: boolean;
}

export interface ActiveSession {
  /** `s.<sid>` for a first-party session, `b.<uid>` for a sign-in at the hosted pages. */
  id: string;
  kind: 'first-party' | 'browser';
  createdAt: string;
  expiresAt: string;
  sourceIp: string | null;
  userAgent: string | null;
  /** Applications signed in through this browser sign-in. */
  clients: string[];
  current: boolean;
}

export interface Consent {
  id: string;
  clientId: string;
  clientName: string;
  scopes: string[];
  resources: string[];
  grantedAt: string | null;
}

export interface SelfService {
  profile(accountId: string): Promise<Profile>;
  /** A verification link to the new address when mail is configured; otherwise the address changes now. */
  changeEmail(who: Who, email: string): Promise<{ pending: boolean }>;
  /** IDP_CURRENT_PASSWORD_WRONG when `current` is wrong (counted like a failed login); the policy's codes for `next`. */
  changePassword(who: Who, current: string, next: string): Promise<void>;
  sessions(who: Who): Promise<ActiveSession[]>;
  /** IDP_SESSION_NOT_FOUND for a session not the person's (or ended), IDP_SESSION_CURRENT for their own. */
  endSession(who: Who, id: string): Promise<void>;
  /** Every session but the request's own; resolves to how many ended. */
  endOtherSessions(who: Who): Promise<number>;
  consents(accountId: string): Promise<Consent[]>;
  /** Sign out of the hosted sign-in the request's sid belongs to (the gateway's browser session). */
  endOwnSignIn(who: Who): Promise<void>;
  /** IDP_CONSENT_NOT_FOUND for a grant that is not the person's. */
  revokeConsent(who: Who, id: string): Promise<void>;
}

interface OidcSessionPayload {
  accountId?: string;
  iat?: number;
  authorizations?: Record<string, unknown>;
}

interface GrantPayload {
  accountId?: string;
  clientId?: string;
  iat?: number;
  openid?: { scope?: string };
  resources?: Record<string, string>;
}

const grantIdShape = /^[A-Za-z0-9_-]{1,64}$/;
const iso = (seconds: number | undefined) =>
  seconds === undefined ? null : new Date(seconds * 1000).toISOString();

const built = new WeakMap<IdpRuntime, SelfService>();

export function selfServiceOf(idp: IdpRuntime): SelfService {
  const existing = built.get(idp);
  if (existing) return existing;
  const service = createSelfService(idp);
  built.set(idp, service);
  return service;
}

function createSelfService(idp: IdpRuntime): SelfService {
  const { sql } = idp;
  const { accounts, sessions, audit } = accountServices(idp);
  const recovery = recoveryServiceOf(idp);

  async function browserSessions(accountId: string) {
    return sql.query<{
      id: string;
      uid: string | null;
      payload: OidcSessionPayload;
      expires_at: Date | null;
    }>(
      `select id, uid, payload, expires_at from idp_oidc_models
       where model = 'Session' and payload->>'accountId' = $1 and (expires_at is null or expires_at > now())
       order by id`,
      [accountId],
    );
  }

  // Tokens issued in a hosted sign-in carry its uid as their `sid` (protocol/provider.ts).
  const sidsOf = (row: { uid: string | null }) => (row.uid ? [row.uid] : []);

  /**
   * End a hosted sign-in, named by its uid (the `sid` of its tokens; never its id, which is the value
   * of the browser's session cookie): its row goes, and every token naming its sid stops working.
   */
  async function endBrowserSession(who: Who, uid: string): Promise<boolean> {
    const rows = await sql.query<{ uid: string | null; expires_at: Date | null }>(
      `delete from idp_oidc_models where model = 'Session' and uid = $1 and payload->>'accountId' = $2
       returning uid, expires_at`,
      [uid, who.accountId],
    );
    const row = rows[0];
    if (!row) return false;
    const expiresAt = Math.ceil((row.expires_at?.getTime() ?? Date.now() + 86_400_000) / 1000);
    const sids = sidsOf(row);
    await idp.revocations.revoke(sids.map((sid) => ({ kind: 'sid' as const, value: sid, expiresAt })));
    await audit.record({
      type: 'session.revoked',
      actor: who.accountId,
      subject: who.accountId,
      sourceIp: who.ip,
      details: { kind: 'browser', reason: 'signed out by owner', via: who.via, sids },
    });
    return true;
  }

  function isCurrent(who: Who, session: ActiveSession, sids: string[]): boolean {
    if (!who.sid) return false;
    return session.kind === 'first-party' ? session.id === `s.${who.sid}` : sids.includes(who.sid);
  }

  const service: SelfService = {
    async profile(accountId) {
      const account = await accounts.get(accountId);
      if (!account?.enabled) throw idpErrors.create('IDP_UNAUTHENTICATED');
      const [row] = await sql.query<{ email_verified: boolean; has_password: boolean }>(
        `select coalesce(email_verified, false) as email_verified, password_hash is not null as has_password
         from idp_users where id = $1`,
        [accountId],
      );
      return {
        id: account.id,
        username: account.username,
        email: account.email,
        emailVerified: row?.email_verified ?? false,
        roles: account.roles,
        password: row?.has_password ?? false,
        emailChangeNeedsVerification: recovery.mailer.enabled,
      };
    },

    async changeEmail(who, email) {
      if (recovery.mailer.enabled) {
        await recovery.requestEmailChange(who.accountId, email, who.ip);
        return { pending: true };
      }
      await accounts.update(who.accountId, { email }, who.accountId);
      await audit.record({
        type: 'profile.email_changed',
        actor: who.accountId,
        subject: who.accountId,
        sourceIp: who.ip,
        details: { via: who.via, verified: false },
      });
      return { pending: false };
    },

    async changePassword(who, current, next) {
      const account = await accounts.get(who.accountId);
      if (!account?.enabled) throw idpErrors.create('IDP_UNAUTHENTICATED');
      try {
        // The login's own check: wrong answers count towards the same throttle and lock.
        await accounts.verifyCredentials(account.username, current, { ip: who.ip, via: who.via });
      } catch (err) {
        if ((err as { code?: string }).code === 'IDP_INVALID_CREDENTIALS') {
          throw idpErrors.create('IDP_CURRENT_PASSWORD_WRONG');
        }
        throw err;
      }
      await accounts.setPassword(who.accountId, next, who.accountId);
      await audit.record({
        type: 'password.changed',
        actor: who.accountId,
        subject: who.accountId,
        sourceIp: who.ip,
        details: { via: who.via },
      });
    },

    async sessions(who) {
      const out: ActiveSession[] = [];
      for (const s of await sessions.list({ userId: who.accountId, activeOnly: true, limit: 100 })) {
        const session: ActiveSession = {
          id: `s.${s.sid}`,
          kind: 'first-party',
          createdAt: s.createdAt.toISOString(),
          expiresAt: s.expiresAt.toISOString(),
          sourceIp: s.sourceIp,
          userAgent: s.userAgent,
          clients: [],
          current: false,
        };
        session.current = isCurrent(who, session, []);
        out.push(session);
      }
      for (const row of await browserSessions(who.accountId)) {
        const session: ActiveSession = {
          id: `b.${row.uid}`,
          kind: 'browser',
          createdAt: iso(row.payload.iat) ?? '',
          expiresAt: row.expires_at?.toISOString() ?? '',
          sourceIp: null,
          userAgent: null,
          clients: Object.keys(row.payload.authorizations ?? {}).sort(),
          current: false,
        };
        session.current = isCurrent(who, session, sidsOf(row));
        out.push(session);
      }
      return out.sort(
        (a, b) => Number(b.current) - Number(a.current) || b.createdAt.localeCompare(a.createdAt),
      );
    },

    async endSession(who, id) {
      const mine = (await service.sessions(who)).find((s) => s.id === id);
      if (!mine) throw idpErrors.create('IDP_SESSION_NOT_FOUND');
      if (mine.current) throw idpErrors.create('IDP_SESSION_CURRENT');
      const ended =
        mine.kind === 'first-party'
          ? await sessions.end(id.slice(2), 'signed out by owner', { actor: who.accountId, sourceIp: who.ip })
          : await endBrowserSession(who, id.slice(2));
      if (!ended) throw idpErrors.create('IDP_SESSION_NOT_FOUND');
    },

    async endOtherSessions(who) {
      let count = 0;
      for (const s of await service.sessions(who)) {
        if (s.current) continue;
        const ended =
          s.kind === 'first-party'
            ? await sessions.end(s.id.slice(2), 'signed out by owner', {
                actor: who.accountId,
                sourceIp: who.ip,
              })
            : await endBrowserSession(who, s.id.slice(2));
        if (ended) count++;
      }
      return count;
    },

    async endOwnSignIn(who) {
      if (!who.sid) return;
      for (const row of await browserSessions(who.accountId)) {
        if (row.uid === who.sid) await endBrowserSession(who, row.uid);
      }
    },

    async consents(accountId) {
      const rows = await sql.query<{
        id: string;
        payload: GrantPayload;
        metadata: Record<string, unknown> | null;
      }>(
        `select g.id, g.payload, c.metadata from idp_oidc_models g
         left join idp_clients c on c.client_id = g.payload->>'clientId'
         where g.model = 'Grant' and g.payload->>'accountId' = $1 and (g.expires_at is null or g.expires_at > now())
         order by g.id`,
        [accountId],
      );
      // First-party clients never ask for consent (they are the site itself): nothing to revoke there.
      return rows
        .filter((r) => r.metadata?.['first_party'] !== true)
        .map((r) => ({
          id: r.id,
          clientId: r.payload.clientId ?? '',
          clientName: String(r.metadata?.['client_name'] ?? r.payload.clientId ?? ''),
          scopes: (r.payload.openid?.scope ?? '').split(' ').filter(Boolean),
          resources: Object.keys(r.payload.resources ?? {}),
          grantedAt: iso(r.payload.iat),
        }));
    },

    async revokeConsent(who, id) {
      if (!grantIdShape.test(id)) throw idpErrors.create('IDP_CONSENT_NOT_FOUND');
      const consent = (await service.consents(who.accountId)).find((c) => c.id === id);
      if (!consent) throw idpErrors.create('IDP_CONSENT_NOT_FOUND');
      await idp.grants.revokeGrant(id);
      await audit.record({
        type: 'grant.revoked',
        actor: who.accountId,
        subject: who.accountId,
        clientId: consent.clientId,
        sourceIp: who.ip,
        details: { grantId: id, via: who.via, reason: 'revoked by owner' },
      });
    },
  };
  return service;
}
