import type { Logger, Sql } from '@gatehouse/core';
import { currentUnitOfWork } from '../storage/unit-of-work.ts';
import { auditBacklogFor } from './audit-backlog.ts';

/**
 * Audit events, stored in SQL (`idp_audit_events`) and queryable by the admin API.
 *
 * An event says who (`actor`: the user or admin who acted), to whom (`subject`: the account or
 * object acted upon), through which client, from where, and when. `details` never holds a secret:
 * keys that look like one are dropped and long strings are cut, whatever the caller passes.
 */
export const auditEventTypes = [
  'login.succeeded',
  'login.failed',
  'login.locked',
  'registration',
  'token.issued',
  'refresh.reuse_detected',
  'grant.revoked',
  'logout',
  'session.revoked',
  'admin.change',
  'directory.account_imported',
  'directory.account_disabled',
  'directory.account_enabled',
  'directory.sync',
  'mfa.enrolled',
  'mfa.used',
  'mfa.recovery_code_used',
  'mfa.failed',
  'mfa.reset',
  'mfa.removed',
  'mfa.recovery_codes_regenerated',
  'email.verification_sent',
  'email.change_requested',
  'email.verified',
  'password.reset_requested',
  'password.reset',
  'password.changed',
  'profile.email_changed',
  'passkey.registered',
  'passkey.removed',
  'passkey.used',
  'passkey.failed',
  'broker.login',
  'broker.linked',
  'broker.unlinked',
  'broker.account_created',
] as const;
export type AuditEventType = (typeof auditEventTypes)[number];

export interface AuditEvent {
  type: AuditEventType;
  actor?: string | null | undefined;
  subject?: string | null | undefined;
  clientId?: string | null | undefined;
  sourceIp?: string | null | undefined;
  details?: Record<string, unknown> | undefined;
}

export interface StoredAuditEvent {
  id: number;
  type: AuditEventType;
  actor: string | null;
  subject: string | null;
  clientId: string | null;
  sourceIp: string | null;
  at: Date;
  details: Record<string, unknown>;
}

export interface AuditQuery {
  type?: AuditEventType | undefined;
  actor?: string | undefined;
  subject?: string | undefined;
  clientId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Only events with a smaller id (paging backwards from the newest). */
  beforeId?: number | undefined;
  /** 1..500, default 100. */
  limit?: number | undefined;
}

export interface Audit {
  /** Store an event. A storage failure is logged, never thrown: auditing must not break a login. */
  record(event: AuditEvent): Promise<void>;
  /** Newest first. */
  query(filter?: AuditQuery): Promise<StoredAuditEvent[]>;
}

const secretKey = /pass|secret|token|cookie|authorization|verifier|assertion|^code$|credential|hash/i;
const maxString = 256;
const maxDepth = 4;

/** Drop secret-looking keys and cut long strings, at every depth. */
export function sanitizeDetails(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    // Control characters (NUL above all, which jsonb refuses) are replaced, not stored.
    const clean = value.replace(/[\u0000-\u001f\u007f]/g, '\ufffd');
    return clean.length > maxString ? `${clean.slice(0, maxString)}…` : clean;
  }
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
  }
  if (depth >= maxDepth) return '[nested]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => sanitizeDetails(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (secretKey.test(k)) continue;
    const clean = sanitizeDetails(v, depth + 1);
    if (clean !== undefined) out[k.slice(0, 64)] = clean;
  }
  return out;
}

const cut = (s: string | null | undefined, n = 256): string | null =>
  s == null ? null : s.replace(/[\u0000-\u001f\u007f]/g, '\ufffd').slice(0, n);

interface AuditRow {
  id: number;
  type: AuditEventType;
  actor: string | null;
  subject: string | null;
  client_id: string | null;
  source_ip: string | null;
  at: Date;
  details: Record<string, unknown>;
}

const INSERT_ONE = `insert into idp_audit_events (type, actor, subject, client_id, source_ip, details)
           values ($1, $2, $3, $4, $5, $6::jsonb)`;

/** Several events (each the params of INSERT_ONE) as one statement whose text does not depend on their number. */
function insertMany(rows: unknown[][]): { text: string; params: unknown[] } {
  return {
    text: `insert into idp_audit_events (type, actor, subject, client_id, source_ip, details)
      select type, actor, subject, client_id, source_ip, details::jsonb
      from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
        as e(type, actor, subject, client_id, source_ip, details)`,
    params: [0, 1, 2, 3, 4, 5].map((column) => rows.map((row) => row[column] ?? null)),
  };
}

export function createAudit(
  sql: Sql,
  options: { logger?: Logger | undefined; onRecord?: ((type: AuditEventType) => void) | undefined } = {},
): Audit {
  return {
    async record(event) {
      // Counted as it happens, stored or not: the metric is what alerts read (audit-metrics.ts).
      options.onRecord?.(event.type);
      try {
        const text = INSERT_ONE;
        const params = [
          event.type,
          cut(event.actor),
          cut(event.subject),
          cut(event.clientId),
          cut(event.sourceIp, 64),
          JSON.stringify(sanitizeDetails(event.details ?? {})),
        ];
        // In a token request the event is committed with the request's other writes, and a login
        // holds it for the statement storing its result (the request's unit of work).
        if (currentUnitOfWork()?.deferAudit({ text, params, combine: insertMany })) return;
        // Held and stored again while the database does not answer (audit-backlog.ts).
        await auditBacklogFor(sql, options.logger).store({ text, params });
      } catch (err) {
        options.logger?.error({ err, type: event.type }, 'audit event not stored');
      }
    },
    async query(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (clause: string, value: unknown) => {
        params.push(value);
        where.push(clause.replace('?', `$${params.length}`));
      };
      if (filter.type) add('type = ?', filter.type);
      if (filter.actor) add('actor = ?', filter.actor);
      if (filter.subject) add('subject = ?', filter.subject);
      if (filter.clientId) add('client_id = ?', filter.clientId);
      if (filter.since) add('at >= ?', filter.since);
      if (filter.until) add('at < ?', filter.until);
      if (filter.beforeId !== undefined) add('id < ?', filter.beforeId);
      const limit = Math.min(Math.max(filter.limit ?? 100, 1), 500);
      params.push(limit);
      const rows = await sql.query<AuditRow>(
        `select id, type, actor, subject, client_id, source_ip, at, details from idp_audit_events
         ${where.length ? `where ${where.join(' and ')}` : ''} order by id desc limit $${params.length}`,
        params,
      );
      return rows.map((r) => ({
        id: Number(r.id),
        type: r.type,
        actor: r.actor,
        subject: r.subject,
        clientId: r.client_id,
        sourceIp: r.source_ip,
        at: r.at,
        details: r.details,
      }));
    },
  };
}

const audited = new WeakSet<object>();

/** The parts of oidc-provider's event emitter and context this module reads. */
interface ProviderEvents {
  on(event: string, listener: (...args: never[]) => void): unknown;
}

interface OidcCtxLike {
  ip?: string;
  oidc?: {
    client?: { clientId: string };
    params?: Record<string, unknown>;
    entities?: Record<string, { accountId?: string; jti?: string; grantId?: string } | undefined>;
  };
}

/**
 * Record the protocol events the issue asks for: tokens issued at the token endpoint, a refresh
 * token presented again after rotation (oidc-provider then revokes the grant), grant revocations and
 * RP-initiated logouts. createIdp calls it on every provider it builds; further calls on the same
 * provider do nothing.
 */
export function attachProviderAudit(provider: ProviderEvents, audit: Audit): void {
  // createIdp attaches it to every provider it builds; a second call must not record events twice.
  if (audited.has(provider)) return;
  audited.add(provider);
  const on = (event: string, listener: (ctx: OidcCtxLike, ...rest: unknown[]) => void) =>
    provider.on(event, listener as (...args: never[]) => void);
  on('grant.success', (ctx) => {
    const entities = ctx.oidc?.entities ?? {};
    const account = entities['Account']?.accountId ?? entities['AccessToken']?.accountId ?? null;
    void audit.record({
      type: 'token.issued',
      actor: account,
      subject: account,
      clientId: ctx.oidc?.client?.clientId ?? null,
      sourceIp: ctx.ip ?? null,
      details: { grantType: ctx.oidc?.params?.['grant_type'] },
    });
  });
  on('grant.error', (ctx, err) => {
    const e = err as { error?: string; error_detail?: string };
    if (e.error !== 'invalid_grant' || e.error_detail !== 'refresh token already used') return;
    const rt = ctx.oidc?.entities?.['RefreshToken'];
    void audit.record({
      type: 'refresh.reuse_detected',
      subject: rt?.accountId ?? null,
      clientId: ctx.oidc?.client?.clientId ?? null,
      sourceIp: ctx.ip ?? null,
      details: { grantId: rt?.grantId, action: 'grant revoked' },
    });
  });
  on('grant.revoked', (ctx, grantId) => {
    void audit.record({
      type: 'grant.revoked',
      clientId: ctx?.oidc?.client?.clientId ?? null,
      sourceIp: ctx?.ip ?? null,
      details: { grantId: typeof grantId === 'string' ? grantId : undefined },
    });
  });
  on('end_session.success', (ctx) => {
    const session = (ctx.oidc?.entities?.['Session'] ?? {}) as { accountId?: string };
    void audit.record({
      type: 'logout',
      actor: session.accountId ?? null,
      subject: session.accountId ?? null,
      clientId: ctx.oidc?.client?.clientId ?? null,
      sourceIp: ctx.ip ?? null,
      details: { via: 'oidc end_session' },
    });
  });
}
