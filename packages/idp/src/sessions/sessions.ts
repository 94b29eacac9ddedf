import { randomBytes } from 'node:crypto';
import type { Sql } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import type { RevocationPublisher } from '../revocation/revocation-publisher.ts';

/**
 * First-party sessions (the `gatehouse_session` cookie of the session API), stored in SQL
 * (`idp_sessions`) so that they survive a restart and every replica sees them. Ending a session
 * revokes its `sid` through the revocation publisher: the state key and the
 * `gatehouse.revocations` message make every gateway drop the cookie within a second.
 */
export interface SessionRecord {
  sid: string;
  userId: string;
  username: string | null;
  createdAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  sourceIp: string | null;
  userAgent: string | null;
}

export interface SessionStore {
  start(input: {
    userId: string;
    ttlSeconds: number;
    sourceIp: string;
    userAgent?: string | undefined;
  }): Promise<SessionRecord>;
  /** The session when it exists, has not ended and has not expired. */
  findActive(sid: string): Promise<SessionRecord | undefined>;
  get(sid: string): Promise<SessionRecord | undefined>;
  /** End and revoke. Resolves false when the session was unknown or already ended. */
  end(
    sid: string,
    reason: string,
    by?: { actor?: string | undefined; sourceIp?: string | undefined },
  ): Promise<boolean>;
  /** End and revoke every active session of a user (disabling an account, password reset). */
  endAllOf(userId: string, reason: string, by?: { actor?: string | undefined }): Promise<number>;
  list(filter?: {
    userId?: string | undefined;
    activeOnly?: boolean | undefined;
    limit?: number | undefined;
  }): Promise<SessionRecord[]>;
}

interface SessionRow {
  id: string;
  user_id: string;
  username: string | null;
  created_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  end_reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
}

const columns = `s.id, s.user_id, u.username, s.created_at, s.expires_at, s.ended_at, s.end_reason, s.source_ip, s.user_agent`;
const from = 'idp_sessions s left join idp_users u on u.id = s.user_id';
const sidShape = /^[A-Za-z0-9_-]{16,64}$/;
const uuidShape = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function toRecord(r: SessionRow): SessionRecord {
  return {
    sid: r.id,
    userId: r.user_id,
    username: r.username,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    endedAt: r.ended_at,
    endReason: r.end_reason,
    sourceIp: r.source_ip,
    userAgent: r.user_agent,
  };
}

export function createSessionStore(options: {
  sql: Sql;
  revocations: RevocationPublisher;
  audit: Audit;
}): SessionStore {
  const { sql, revocations, audit } = options;

  async function revoke(sid: string, expiresAt: Date): Promise<void> {
    await revocations.revoke([
      { kind: 'sid', value: sid, expiresAt: Math.floor(expiresAt.getTime() / 1000) },
    ]);
  }

  const store: SessionStore = {
    async start(input) {
      const sid = randomBytes(18).toString('base64url');
      const rows = await sql.query<SessionRow>(
        `with s as (
           insert into idp_sessions (id, user_id, expires_at, source_ip, user_agent)
           values ($1, $2, now() + make_interval(secs => $3), $4, $5) returning *
         ) select ${columns} from s left join idp_users u on u.id = s.user_id`,
        [
          sid,
          input.userId,
          input.ttlSeconds,
          input.sourceIp.slice(0, 64),
          input.userAgent?.slice(0, 256) ?? null,
        ],
      );
      return toRecord(rows[0]!);
    },

    async findActive(sid) {
      if (!sidShape.test(sid)) return undefined;
      const rows = await sql.query<SessionRow>(
        `select ${columns} from ${from} where s.id = $1 and s.ended_at is null and s.expires_at > now()`,
        [sid],
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    async get(sid) {
      if (!sidShape.test(sid)) return undefined;
      const rows = await sql.query<SessionRow>(`select ${columns} from ${from} where s.id = $1`, [sid]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    },

    async end(sid, reason, by = {}) {
      if (!sidShape.test(sid)) return false;
      // Revoked first, ended second: ended first, a database lost between the two statements would
      // leave the session ended here but never revoked, accepted by every gateway, with no session
      // left for the client's retry of its logout (answered 503) to end. This way the retry finds
      // the session still open and finishes both; a revocation recorded twice is one row.
      const open = await sql.query<{ expires_at: Date }>(
        'select expires_at from idp_sessions where id = $1 and ended_at is null',
        [sid],
      );
      if (!open[0]) return false;
      await revoke(sid, open[0].expires_at);
      const rows = await sql.query<{ user_id: string }>(
        `update idp_sessions set ended_at = now(), end_reason = $2
         where id = $1 and ended_at is null returning user_id`,
        [sid, reason.slice(0, 64)],
      );
      const row = rows[0];
      // Another request ended it meanwhile: it audits the end.
      if (!row) return false;
      await audit.record({
        type: reason === 'logout' ? 'logout' : 'session.revoked',
        actor: by.actor ?? row.user_id,
        subject: row.user_id,
        sourceIp: by.sourceIp,
        details: { sid, reason },
      });
      return true;
    },

    async endAllOf(userId, reason, by = {}) {
      if (!uuidShape.test(userId)) return 0;
      // Revoked before they are ended, for the reason given in end().
      const open = await sql.query<{ id: string; expires_at: Date }>(
        `select id, expires_at from idp_sessions
         where user_id = $1 and ended_at is null and expires_at > now()`,
        [userId],
      );
      for (const r of open) await revoke(r.id, r.expires_at);
      const rows = await sql.query<{ id: string }>(
        `update idp_sessions set ended_at = now(), end_reason = $2
         where id = any($1::text[]) and ended_at is null returning id`,
        [open.map((r) => r.id), reason.slice(0, 64)],
      );
      if (rows.length > 0) {
        await audit.record({
          type: 'session.revoked',
          actor: by.actor ?? null,
          subject: userId,
          details: { reason, count: rows.length },
        });
      }
      return rows.length;
    },

    async list(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.userId) {
        if (!uuidShape.test(filter.userId)) return [];
        params.push(filter.userId);
        where.push(`s.user_id = $${params.length}`);
      }
      if (filter.activeOnly) where.push('s.ended_at is null and s.expires_at > now()');
      params.push(Math.min(Math.max(filter.limit ?? 100, 1), 500));
      const rows = await sql.query<SessionRow>(
        `select ${columns} from ${from} ${where.length ? `where ${where.join(' and ')}` : ''}
         order by s.created_at desc limit $${params.length}`,
        params,
      );
      return rows.map(toRecord);
    },
  };
  return store;
}
