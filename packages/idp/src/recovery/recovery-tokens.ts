import { createHash, randomBytes } from 'node:crypto';
import type { Sql, SqlTx } from '@gatehouse/core';
import { idpErrors } from '../errors.ts';

/**
 * The one-time links of account recovery: email verification and password reset.
 *
 * A token is 256 random bits (base64url). Only its SHA-256 is stored, so a read of the table (a
 * backup, an SQL injection elsewhere) yields no usable link. A fast hash is right here, unlike for
 * passwords: the input has 256 bits of entropy, so there is nothing to guess and a slow hash (argon2id)
 * would only cost CPU per click.
 *
 * Each token works once (`used_at`) and until `expires_at`; once a new link of the same purpose for the
 * same account is sent, the earlier ones stop working, so only the newest mail works.
 */
export type RecoveryPurpose = 'email-verification' | 'password-reset';

export interface RecoveryToken {
  userId: string;
  email: string;
}

const tokenShape = /^[A-Za-z0-9_-]{43}$/;

export function hashRecoveryToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface RecoveryTokens {
  issue(input: {
    userId: string;
    purpose: RecoveryPurpose;
    email: string;
    ttlSeconds: number;
  }): Promise<string>;
  /** Once the mail with `token` is out: the account's earlier links of the same purpose stop working. */
  retireOthers(token: string): Promise<void>;
  /** The mail with `token` could not be sent: the token goes, the earlier links stay as they were. */
  discard(token: string): Promise<void>;
  /**
   * The token's account and address when it is unused and unexpired; otherwise throws
   * IDP_RECOVERY_TOKEN_INVALID, _USED or _EXPIRED. Changes nothing.
   */
  check(
    tx: Sql | SqlTx,
    token: string,
    purpose: RecoveryPurpose,
    forUpdate?: boolean,
  ): Promise<RecoveryToken>;
  /** Mark it used (in `tx`, after `check(tx, token, purpose, true)`). */
  markUsed(tx: SqlTx, token: string): Promise<void>;
}

export function createRecoveryTokens(sql: Sql): RecoveryTokens {
  return {
    async issue({ userId, purpose, email, ttlSeconds }) {
      const token = randomBytes(32).toString('base64url');
      // Long-expired rows of any account go.
      await sql.query(`delete from idp_recovery_tokens where expires_at < now() - interval '7 days'`);
      await sql.query(
        `insert into idp_recovery_tokens (token_hash, purpose, user_id, email, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
        [hashRecoveryToken(token), purpose, userId, email, ttlSeconds],
      );
      return token;
    },

    async retireOthers(token) {
      await sql.query(
        `update idp_recovery_tokens o set used_at = now()
         from idp_recovery_tokens n
         where n.token_hash = $1 and o.user_id = n.user_id and o.purpose = n.purpose
           and o.token_hash <> n.token_hash and o.used_at is null`,
        [hashRecoveryToken(token)],
      );
    },

    async discard(token) {
      await sql.query('delete from idp_recovery_tokens where token_hash = $1', [hashRecoveryToken(token)]);
    },

    async check(tx, token, purpose, forUpdate = false) {
      if (!tokenShape.test(token)) throw idpErrors.create('IDP_RECOVERY_TOKEN_INVALID');
      const rows = await tx.query<{ user_id: string; email: string; used: boolean; expired: boolean }>(
        `select user_id, email, used_at is not null as used, expires_at <= now() as expired
         from idp_recovery_tokens where token_hash = $1 and purpose = $2${forUpdate ? ' for update' : ''}`,
        [hashRecoveryToken(token), purpose],
      );
      const row = rows[0];
      if (!row) throw idpErrors.create('IDP_RECOVERY_TOKEN_INVALID');
      if (row.used) throw idpErrors.create('IDP_RECOVERY_TOKEN_USED');
      if (row.expired) throw idpErrors.create('IDP_RECOVERY_TOKEN_EXPIRED');
      return { userId: row.user_id, email: row.email };
    },

    async markUsed(tx, token) {
      await tx.query('update idp_recovery_tokens set used_at = now() where token_hash = $1', [
        hashRecoveryToken(token),
      ]);
    },
  };
}
