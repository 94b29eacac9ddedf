import type { Logger, SharedState, Sql } from '@gatehouse/core';

/** The fan-out channel and key space of docs/contracts.md ("Tokens and revocation"). */
export const REVOCATIONS_CHANNEL = 'gatehouse.revocations';
export const revokedKey = (kind: RevocationKind, value: string): string =>
  `gatehouse:revoked:${kind}:${value}`;

export type RevocationKind = 'jti' | 'sid';

export interface Revocation {
  kind: RevocationKind;
  value: string;
  /** Epoch seconds after which the revoked tokens would have expired anyway. */
  expiresAt: number;
}

export interface RevocationPublisher {
  /**
   * Record revocations in SQL (the source of truth), set their state keys and publish them on
   * `gatehouse.revocations`, so every gateway drops the tokens within a second. Already expired
   * entries are skipped: the tokens they name are dead anyway.
   */
  revoke(revocations: Revocation[]): Promise<void>;
  /** Whether a jti or sid is revoked (SQL, so it holds across restarts and replicas). */
  isRevoked(kind: RevocationKind, value: string): Promise<boolean>;
  /** Put every live revocation back into the shared state (an in-process state starts empty). */
  restore(): Promise<number>;
  /** Forget revocations whose tokens have expired. */
  prune(): Promise<void>;
}

export function createRevocationPublisher(options: {
  sql: Sql;
  state: SharedState;
  logger: Logger;
}): RevocationPublisher {
  const { sql, state, logger } = options;

  async function fanOut(r: Revocation, nowSeconds: number): Promise<void> {
    const ttlMs = (r.expiresAt - nowSeconds) * 1000;
    await state.set(revokedKey(r.kind, r.value), '1', ttlMs);
    await state.publish(REVOCATIONS_CHANNEL, JSON.stringify(r));
  }

  return {
    async revoke(revocations) {
      const now = Math.floor(Date.now() / 1000);
      const live = revocations.filter((r) => r.expiresAt > now && r.value.length > 0);
      if (live.length === 0) return;
      for (const r of live) {
        await sql.query(
          `insert into idp_revocations (kind, value, expires_at) values ($1, $2, to_timestamp($3))
           on conflict (kind, value) do update set expires_at = greatest(idp_revocations.expires_at, excluded.expires_at)`,
          [r.kind, r.value, r.expiresAt],
        );
      }
      // SQL first: a gateway that misses the message still sees the state key, and a restarted
      // process restores the state keys from SQL. A state failure is logged, not fatal: the
      // revocation holds at the identity provider (introspection) either way.
      for (const r of live) {
        try {
          await fanOut(r, now);
        } catch (err) {
          logger.error({ err, kind: r.kind }, 'revocation fan-out failed');
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

    async restore() {
      const rows = await sql.query<{ kind: RevocationKind; value: string; expires_at: Date }>(
        'select kind, value, expires_at from idp_revocations where expires_at > now()',
      );
      const now = Date.now();
      for (const row of rows) {
        await state.set(revokedKey(row.kind, row.value), '1', row.expires_at.getTime() - now);
      }
      return rows.length;
    },

    async prune() {
      await sql.query('delete from idp_revocations where expires_at <= now()');
    },
  };
}
