import {
  type Logger,
  REVOCATIONS_CHANNEL,
  type RevocationKind,
  type RevocationRecord,
  revokedKey,
  type SharedState,
  type Sql,
} from '@gatehouse/core';

export { REVOCATIONS_CHANNEL, type RevocationKind, revokedKey } from '@gatehouse/core';

/** One revocation (docs/contracts.md, "Tokens and revocation"). */
export type Revocation = RevocationRecord;

/** What a token names, for `isTokenRevoked`. */
export interface TokenIdentity {
  jti: string;
  sid?: string | undefined;
  clientId?: string | undefined;
  sub?: string | undefined;
  /** `iat`, epoch seconds; a token without one counts as issued at 0 (refused by client/sub revocations). */
  issuedAt?: number | undefined;
}

/** A page of the durable feed: the revocations after a cursor and the cursor to ask with next. */
export interface RevocationFeedPage {
  revocations: RevocationRecord[];
  cursor: string;
}

/**
 * How far back every feed answer reaches regardless of the cursor. Sequence numbers are taken when
 * a row is written, not when its transaction commits, so a row may become visible after a later
 * number was already read; answering the recent ones again closes that gap (adding one is idempotent).
 */
const FEED_OVERLAP_SECONDS = 30;

export interface RevocationPublisher {
  /**
   * Record revocations in SQL (the source of truth, answered only once stored), then set their
   * state keys and publish them on `gatehouse.revocations` (the fast path). Already expired entries
   * are skipped: the tokens they name are dead anyway. A state failure is logged, not thrown: the
   * gateways and SDK services find the revocation in the durable feed.
   */
  revoke(revocations: Revocation[]): Promise<void>;
  /** Whether a jti or sid is revoked (SQL, so it holds across restarts and replicas). */
  isRevoked(kind: 'jti' | 'sid', value: string): Promise<boolean>;
  /** Whether any live revocation names this token: its jti, sid, or its client or subject before its iat. */
  isTokenRevoked(token: TokenIdentity): Promise<boolean>;
  /** The durable feed: live revocations after `cursor` ('' or '0' for all), in order. */
  since(cursor: string): Promise<RevocationFeedPage>;
  /** Put every live revocation back into the shared state (an in-process state starts empty). */
  restore(): Promise<number>;
  /** Forget revocations whose tokens have expired. */
  prune(): Promise<void>;
}

interface RevocationRow {
  seq: string;
  kind: RevocationKind;
  value: string;
  expires_at: number | string;
  not_before: number | string | null;
}

const SELECT_ROW = `seq::text as seq, kind, value, extract(epoch from expires_at)::float8 as expires_at,
  extract(epoch from not_before)::float8 as not_before`;

function recordOf(row: RevocationRow): RevocationRecord {
  const r: RevocationRecord = {
    kind: row.kind,
    value: row.value,
    expiresAt: Math.ceil(Number(row.expires_at)),
  };
  if (row.not_before !== null) r.notBefore = Number(row.not_before);
  return r;
}

export function createRevocationPublisher(options: {
  sql: Sql;
  state: SharedState;
  logger: Logger;
}): RevocationPublisher {
  const { sql, state, logger } = options;

  async function fanOut(r: Revocation, nowSeconds: number): Promise<void> {
    const ttlMs = (r.expiresAt - nowSeconds) * 1000;
    await state.set(revokedKey(r.kind, r.value), String(r.notBefore ?? 1), ttlMs);
    await state.publish(REVOCATIONS_CHANNEL, JSON.stringify(r));
  }

  return {
    async revoke(revocations) {
      const now = Math.floor(Date.now() / 1000);
      const live = revocations.filter((r) => r.expiresAt > now && r.value.length > 0);
      if (live.length === 0) return;
      for (const r of live) {
        const scoped = r.kind === 'client' || r.kind === 'sub';
        if (scoped && r.notBefore === undefined)
          throw new TypeError(`a ${r.kind} revocation needs notBefore`);
        // A new sequence number on every write, so a feed reader past the old row sees the change.
        await sql.query(
          `insert into idp_revocations (kind, value, expires_at, not_before)
           values ($1, $2, to_timestamp($3), ${scoped ? 'to_timestamp($4)' : 'null'})
           on conflict (kind, value) do update set
             expires_at = greatest(idp_revocations.expires_at, excluded.expires_at),
             not_before = greatest(idp_revocations.not_before, excluded.not_before),
             revoked_at = now(),
             seq = nextval('idp_revocations_seq')`,
          scoped ? [r.kind, r.value, r.expiresAt, r.notBefore] : [r.kind, r.value, r.expiresAt],
        );
      }
      for (const r of live) {
        try {
          await fanOut(r, now);
        } catch (err) {
          logger.error(
            { err, kind: r.kind },
            'revocation fan-out failed; gateways find it in the revocation feed',
          );
        }
      }
      logger.info({ count: live.length, kinds: [...new Set(live.map((r) => r.kind))] }, 'tokens revoked');
    },

    async isRevoked(kind, value) {
      const rows = await sql.query(
        'select 1 from idp_revocations where kind = $1 and value = $2 and expires_at > now()',
        [kind, value],
      );
      return rows.length > 0;
    },

    async isTokenRevoked(token) {
      const rows = await sql.query(
        `select 1 from idp_revocations where expires_at > now() and (
           (kind = 'jti' and value = $1) or (kind = 'sid' and value = $2)
           or (kind = 'client' and value = $3 and not_before > to_timestamp($5))
           or (kind = 'sub' and value = $4 and not_before > to_timestamp($5)))
         limit 1`,
        [token.jti, token.sid ?? '', token.clientId ?? '', token.sub ?? '', token.issuedAt ?? 0],
      );
      return rows.length > 0;
    },

    async since(cursor) {
      const after = /^\d{1,18}$/.test(cursor) ? cursor : '0';
      const rows = await sql.query<RevocationRow>(
        `select ${SELECT_ROW} from idp_revocations
         where expires_at > now()
           and (seq > $1::bigint or revoked_at > now() - make_interval(secs => $2))
         order by seq`,
        [after, FEED_OVERLAP_SECONDS],
      );
      let next = BigInt(after);
      for (const row of rows) if (BigInt(row.seq) > next) next = BigInt(row.seq);
      return { revocations: rows.map(recordOf), cursor: next.toString() };
    },

    async restore() {
      const rows = await sql.query<RevocationRow>(
        `select ${SELECT_ROW} from idp_revocations where expires_at > now()`,
      );
      const now = Date.now() / 1000;
      let restored = 0;
      for (const r of rows.map(recordOf)) {
        const ttlMs = Math.floor((r.expiresAt - now) * 1000);
        if (ttlMs <= 0) continue;
        await state.set(revokedKey(r.kind, r.value), String(r.notBefore ?? 1), ttlMs);
        restored++;
      }
      return restored;
    },

    async prune() {
      await sql.query('delete from idp_revocations where expires_at <= now()');
    },
  };
}
