import type { SharedState, Sql, SqlTx } from '@gatehouse/core';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { AccountsConfig } from '../accounts/accounts-config.ts';
import { type BruteForceGuard, createBruteForceGuard } from '../accounts/brute-force.ts';
import { effectiveRolesQuery } from '../accounts/roles.ts';
import type { Audit, AuditEventType } from '../audit/audit.ts';
import { idpErrors } from '../errors.ts';
import type { MfaConfig } from './mfa-config.ts';
import { generateRecoveryCodes, hashRecoveryCode, normalizeRecoveryCode } from './recovery-codes.ts';
import { openSecret, sealSecret } from './secret-box.ts';

/**
 * Second factors of an account: a TOTP authenticator (RFC 6238, `otplib`) and its recovery codes.
 *
 * - Setup: a fresh secret (160 bits) is stored encrypted (secret-box.ts) and shown once as a QR code
 *   and as text; it becomes active only when the person types a first valid code, which also hands
 *   out ten recovery codes (recovery-codes.ts).
 * - A code is accepted once: the time step of every accepted code is stored, and a code for that
 *   step or an earlier one is refused (an atomic update, so two requests racing with one code cannot
 *   both pass).
 * - Wrong codes count on the brute-force guard (brute-force.ts) under a counter of their own per
 *   account and per source address, so a stolen password does not give unlimited guesses.
 * - Every setup, use, recovery-code use, failure and reset is audited; no secret or code is.
 */
export type SecondFactorMethod = 'totp' | 'recovery-code';

export interface TotpSetup {
  /** Base32, for typing into an app that cannot scan. */
  secret: string;
  otpauthUrl: string;
  /** The otpauth URL as a QR code PNG data URL (API) ... */
  qrCodeDataUrl: string;
  /** ... and as SVG markup (the hosted page, whose CSP admits no data: images). */
  qrCodeSvg: string;
}

export interface SecondFactorStatus {
  totp: boolean;
  recoveryCodesLeft: number;
  passkeys: number;
}

export interface AttemptSource {
  ip: string;
  clientId?: string | undefined;
  via: string;
}

export interface SecondFactors {
  readonly config: MfaConfig;
  /**
   * What a sign-in needs once the password is right: nothing more, a code, or a setup (role policy).
   * `known` is what the login already read (accounts/password-login.ts): with it, the common case asks nothing more.
   */
  afterPassword(
    accountId: string,
    known?: { secondFactor?: boolean | undefined; roles?: string[] | undefined },
  ): Promise<'none' | 'code' | 'enrol'>;
  status(accountId: string): Promise<SecondFactorStatus>;
  /**
   * Start (or restart) a TOTP setup; IDP_MFA_ALREADY_ENROLLED when one is active. `keepPending`
   * shows the secret of a setup already begun again (a page shown anew after a wrong code).
   */
  beginTotp(accountId: string, label: string, options?: { keepPending?: boolean }): Promise<TotpSetup>;
  /** Activate the setup with its first code; resolves to the ten recovery codes (shown once). */
  confirmTotp(accountId: string, code: string, source: AttemptSource): Promise<string[]>;
  /** Check a second factor at sign-in; IDP_MFA_CODE_INVALID, IDP_LOGIN_THROTTLED or IDP_LOGIN_LOCKED when refused. */
  verify(
    accountId: string,
    input: { code?: string | undefined; recoveryCode?: string | undefined },
    source: AttemptSource,
  ): Promise<SecondFactorMethod>;
  /** Remove every second factor of the account (an admin's reset); false when it had none. */
  reset(accountId: string, actor: string): Promise<boolean>;
  /** The person removes their authenticator app and its recovery codes; IDP_MFA_NOT_ENROLLED without one. */
  removeTotp(accountId: string, source: AttemptSource): Promise<void>;
  /** Ten new recovery codes in place of the old ones (shown once); IDP_MFA_NOT_ENROLLED without an app. */
  regenerateRecoveryCodes(accountId: string, source: AttemptSource): Promise<string[]>;
}

interface TotpRow {
  secret_encrypted: Buffer;
  confirmed_at: Date | null;
  last_step: number | null;
}

const sixDigits = /^\d{6}$/;

/** The account's recovery codes become `codes` (stored hashed): every earlier one stops working. */
async function replaceRecoveryCodes(tx: SqlTx, accountId: string, codes: string[]): Promise<void> {
  await tx.query('delete from idp_recovery_codes where user_id = $1', [accountId]);
  await tx.query('insert into idp_recovery_codes (user_id, code_hash) select $1, unnest($2::text[])', [
    accountId,
    codes.map(hashRecoveryCode),
  ]);
}

export function createSecondFactors(options: {
  sql: Sql;
  state: SharedState;
  audit: Audit;
  config: MfaConfig;
  bruteForce: AccountsConfig['bruteForce'];
  keyEncryptionSecret: string;
  guard?: BruteForceGuard | undefined;
}): SecondFactors {
  const { sql, audit, config, keyEncryptionSecret } = options;
  const guard = options.guard ?? createBruteForceGuard(options.state, options.bruteForce);
  // Counters apart from the password's: the key cannot collide with a username key (no ':' in usernames).
  const subject = (accountId: string, ip: string) => ({ usernameKey: `mfa:${accountId}`, ip });

  /** An event of a person's own second factors, with where they acted from. */
  function recordOwn(
    type: AuditEventType,
    accountId: string,
    source: AttemptSource,
    details: Record<string, unknown>,
  ): Promise<void> {
    return audit.record({
      type,
      actor: accountId,
      subject: accountId,
      clientId: source.clientId,
      sourceIp: source.ip,
      details: { ...details, via: source.via },
    });
  }

  async function totpRow(accountId: string): Promise<TotpRow | undefined> {
    const rows = await sql.query<TotpRow>(
      'select secret_encrypted, confirmed_at, last_step from idp_totp where user_id = $1',
      [accountId],
    );
    return rows[0];
  }

  /** The time step `code` is valid for (within the tolerance), or undefined. */
  async function stepOf(row: TotpRow, accountId: string, code: string): Promise<number | undefined> {
    if (!sixDigits.test(code)) return undefined;
    const secret = openSecret(row.secret_encrypted, accountId, keyEncryptionSecret);
    const result = await verify({ secret, token: code, epochTolerance: config.totpToleranceSeconds });
    return result.valid && 'timeStep' in result ? result.timeStep : undefined;
  }

  async function checkGuard(accountId: string, source: AttemptSource): Promise<void> {
    try {
      await guard.check(subject(accountId, source.ip));
    } catch (err) {
      await recordOwn('mfa.failed', accountId, source, { reason: (err as { code?: string }).code });
      throw err;
    }
  }

  async function refuse(accountId: string, source: AttemptSource, reason: string): Promise<Error> {
    const { locked } = await guard.recordFailure(subject(accountId, source.ip));
    await recordOwn('mfa.failed', accountId, source, { reason, ...(locked ? { locked } : {}) });
    return idpErrors.create('IDP_MFA_CODE_INVALID');
  }

  return {
    config,

    async afterPassword(accountId, known = {}) {
      if (known.secondFactor === true) return 'code';
      if (known.secondFactor === false) {
        if (config.requiredRoles.length === 0) return 'none';
        if (known.roles) return known.roles.some((r) => config.requiredRoles.includes(r)) ? 'enrol' : 'none';
      }
      const [row] = await sql.query<{ totp: boolean; required: boolean }>(
        `select exists(select 1 from idp_totp where user_id = $1 and confirmed_at is not null)
                  or exists(select 1 from idp_passkeys where user_id = $1) as totp,
                exists(select 1 from (${effectiveRolesQuery('$1')}) r where r.role = any($2::text[])) as required`,
        [accountId, config.requiredRoles],
      );
      if (row?.totp) return 'code';
      return row?.required ? 'enrol' : 'none';
    },

    async status(accountId) {
      const [row] = await sql.query<{ totp: boolean; left: number; passkeys: number }>(
        `select exists(select 1 from idp_totp where user_id = $1 and confirmed_at is not null) as totp,
                (select count(*)::int from idp_recovery_codes where user_id = $1 and used_at is null) as left,
                (select count(*)::int from idp_passkeys where user_id = $1) as passkeys`,
        [accountId],
      );
      return { totp: row?.totp ?? false, recoveryCodesLeft: row?.left ?? 0, passkeys: row?.passkeys ?? 0 };
    },

    async beginTotp(accountId, label, opts = {}) {
      const existing = await totpRow(accountId);
      if (existing?.confirmed_at) throw idpErrors.create('IDP_MFA_ALREADY_ENROLLED');
      const pending =
        opts.keepPending && existing
          ? openSecret(existing.secret_encrypted, accountId, keyEncryptionSecret)
          : undefined;
      const secret = pending ?? generateSecret({ length: 20 });
      if (!pending)
        await sql.query(
          `insert into idp_totp (user_id, secret_encrypted) values ($1, $2)
         on conflict (user_id) do update set secret_encrypted = excluded.secret_encrypted, created_at = now()
         where idp_totp.confirmed_at is null`,
          [accountId, sealSecret(secret, accountId, keyEncryptionSecret)],
        );
      const otpauthUrl = generateURI({ issuer: config.issuer, label, secret });
      const [qrCodeDataUrl, qrCodeSvg] = await Promise.all([
        QRCode.toDataURL(otpauthUrl, { errorCorrectionLevel: 'M', margin: 2 }),
        QRCode.toString(otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 200 }),
      ]);
      return { secret, otpauthUrl, qrCodeDataUrl, qrCodeSvg };
    },

    async confirmTotp(accountId, code, source) {
      await checkGuard(accountId, source);
      const row = await totpRow(accountId);
      if (row?.confirmed_at) throw idpErrors.create('IDP_MFA_ALREADY_ENROLLED');
      if (!row) throw idpErrors.create('IDP_MFA_NOT_ENROLLING');
      const step = await stepOf(row, accountId, code);
      if (step === undefined) throw await refuse(accountId, source, 'wrong code at setup');
      const codes = generateRecoveryCodes();
      const confirmed = await sql.transaction(async (tx) => {
        const done = await tx.query(
          `update idp_totp set confirmed_at = now(), last_step = $2
           where user_id = $1 and confirmed_at is null returning user_id`,
          [accountId, step],
        );
        if (done.length === 0) return false;
        await replaceRecoveryCodes(tx, accountId, codes);
        return true;
      });
      if (!confirmed) throw idpErrors.create('IDP_MFA_ALREADY_ENROLLED');
      await guard.recordSuccess(subject(accountId, source.ip));
      await recordOwn('mfa.enrolled', accountId, source, { method: 'totp', recoveryCodes: codes.length });
      return codes;
    },

    async verify(accountId, input, source) {
      await checkGuard(accountId, source);
      if (input.recoveryCode !== undefined) {
        const normalized = normalizeRecoveryCode(input.recoveryCode);
        const used =
          normalized.length === 16
            ? await sql.query<{ left: number }>(
                `with used as (update idp_recovery_codes set used_at = now()
                   where user_id = $1 and code_hash = $2 and used_at is null returning user_id)
                 select (select count(*)::int from idp_recovery_codes where user_id = $1 and used_at is null) - 1 as left
                 from used`,
                [accountId, hashRecoveryCode(normalized)],
              )
            : [];
        if (used.length === 0) throw await refuse(accountId, source, 'wrong recovery code');
        await guard.recordSuccess(subject(accountId, source.ip));
        await recordOwn('mfa.recovery_code_used', accountId, source, { recoveryCodesLeft: used[0]!.left });
        return 'recovery-code';
      }
      const row = await totpRow(accountId);
      if (!row?.confirmed_at) throw await refuse(accountId, source, 'no authenticator');
      const step = await stepOf(row, accountId, input.code ?? '');
      if (step === undefined) throw await refuse(accountId, source, 'wrong code');
      const taken = await sql.query(
        `update idp_totp set last_step = $2
         where user_id = $1 and confirmed_at is not null and (last_step is null or last_step < $2) returning user_id`,
        [accountId, step],
      );
      if (taken.length === 0) throw await refuse(accountId, source, 'replayed code');
      await guard.recordSuccess(subject(accountId, source.ip));
      await recordOwn('mfa.used', accountId, source, { method: 'totp' });
      return 'totp';
    },

    async reset(accountId, actor) {
      const removed = await sql.transaction(async (tx) => {
        const totp = await tx.query('delete from idp_totp where user_id = $1 returning user_id', [accountId]);
        const codes = await tx.query('delete from idp_recovery_codes where user_id = $1 returning user_id', [
          accountId,
        ]);
        const passkeys = await tx.query('delete from idp_passkeys where user_id = $1 returning id', [
          accountId,
        ]);
        return totp.length + codes.length + passkeys.length > 0;
      });
      if (removed) {
        await audit.record({
          type: 'mfa.reset',
          actor,
          subject: accountId,
          details: { methods: ['totp', 'recovery-code', 'passkey'] },
        });
      }
      return removed;
    },

    async removeTotp(accountId, source) {
      const removed = await sql.transaction(async (tx) => {
        const totp = await tx.query(
          'delete from idp_totp where user_id = $1 and confirmed_at is not null returning user_id',
          [accountId],
        );
        if (totp.length === 0) return false;
        await tx.query('delete from idp_recovery_codes where user_id = $1', [accountId]);
        return true;
      });
      if (!removed) throw idpErrors.create('IDP_MFA_NOT_ENROLLED');
      await recordOwn('mfa.removed', accountId, source, { methods: ['totp', 'recovery-code'] });
    },

    async regenerateRecoveryCodes(accountId, source) {
      const codes = generateRecoveryCodes();
      const replaced = await sql.transaction(async (tx) => {
        // Under the app's row lock: a removal at the same moment cannot leave codes without an app.
        const app = await tx.query(
          'select user_id from idp_totp where user_id = $1 and confirmed_at is not null for update',
          [accountId],
        );
        if (app.length === 0) return false;
        await replaceRecoveryCodes(tx, accountId, codes);
        return true;
      });
      if (!replaced) throw idpErrors.create('IDP_MFA_NOT_ENROLLED');
      await recordOwn('mfa.recovery_codes_regenerated', accountId, source, { recoveryCodes: codes.length });
      return codes;
    },
  };
}
