import { accountServices } from '../accounts/account-services.ts';
import { parseEmail } from '../accounts/email.ts';
import { checkPassword } from '../accounts/password-policy.ts';
import { usernameKey } from '../accounts/username.ts';
import { idpErrors } from '../errors.ts';
import type { IdpRuntime } from '../index.ts';
import { mailLinkBase, resolveMailConfig } from '../mail/mail-config.ts';
import { passwordChangedMail, passwordResetMail, verificationMail } from '../mail/mail-templates.ts';
import { createMailer, type Mailer } from '../mail/mailer.ts';
import { revokeEverythingOf } from '../revocation/account-revocation.ts';
import { type RecoveryConfig, resolveRecoveryConfig } from './recovery-config.ts';
import { createRecoveryTokens } from './recovery-tokens.ts';

/**
 * Account recovery and email as one service per identity provider: what this folder holds.
 *
 * - recovery-config.ts: the `idp.recovery` section (link lifetimes, mail limits);
 * - recovery-tokens.ts: the one-time links, stored hashed;
 * - account-revocation.ts: everything an account holds ends when its password is reset;
 * - session-api-recovery.ts, recovery-pages.ts: the routes and hosted pages.
 *
 * Mail delivery is ../mail/ (nodemailer, templates, the development mailbox).
 */
export interface RecoveryService {
  mailer: Mailer;
  config: RecoveryConfig;
  /** Signed in: send (again) a verification link to the account's unverified address. */
  resendVerification(accountId: string, ip: string): Promise<void>;
  /** After a registration with an address: its verification link (not throttled per address twice). */
  afterRegistration(
    account: { id: string; username: string; email: string | null },
    ip: string,
  ): Promise<void>;
  /** Signed in: the new address takes effect when the link sent to it is opened. */
  requestEmailChange(accountId: string, email: string, ip: string): Promise<void>;
  /** The link's address becomes the account's verified address. */
  verifyEmail(token: string, ip: string): Promise<{ email: string }>;
  /**
   * Forgot password: after the input and rate checks, the same outcome whether or not an account has
   * the address; the lookup and the mail happen after the answer (`pending` settles then).
   */
  requestPasswordReset(email: string, ip: string): Promise<{ pending: Promise<void> }>;
  /** Whether a reset link can still be used (the form is shown only then). Changes nothing. */
  checkResetToken(token: string): Promise<void>;
  /** The link's account gets `password`; everything it held ends; the person is told by mail. */
  resetPassword(token: string, password: string, ip: string): Promise<void>;
}

const built = new WeakMap<IdpRuntime, RecoveryService>();

export function recoveryServiceOf(idp: IdpRuntime): RecoveryService {
  const existing = built.get(idp);
  if (existing) return existing;
  const service = createRecoveryService(idp);
  built.set(idp, service);
  return service;
}

function createRecoveryService(idp: IdpRuntime): RecoveryService {
  const { sql, state, logger } = idp;
  const { accounts, audit } = accountServices(idp);
  const mailConfig = resolveMailConfig((idp.config as { mail?: unknown }).mail ?? {});
  const config = resolveRecoveryConfig((idp.config as { recovery?: unknown }).recovery ?? {});
  const mailer = createMailer({ config: mailConfig, mode: idp.mode, logger });
  const tokens = createRecoveryTokens(sql);
  const linkBase = mailLinkBase(mailConfig, idp.issuer, idp.mode);
  const link = (page: 'verify' | 'reset', token: string) =>
    `${linkBase}/authentication/recovery/${page}?token=${token}`;
  const hourly = (n: number) => ({ capacity: n, refillPerSecond: n / 3600 });

  function requireMail(): void {
    if (!mailer.enabled) throw idpErrors.create('IDP_MAIL_NOT_CONFIGURED');
  }

  /** Throws IDP_RECOVERY_THROTTLED when any of the buckets is empty. */
  async function throttle(keys: [string, number][]): Promise<void> {
    for (const [key, perHour] of keys) {
      const bucket = await state.takeToken(key, hourly(perHour));
      if (!bucket.allowed) {
        throw idpErrors.create('IDP_RECOVERY_THROTTLED', undefined, {
          headers: { 'retry-after': String(Math.max(1, Math.ceil(bucket.retryAfterMs / 1000))) },
        });
      }
    }
  }

  async function send(mail: Parameters<Mailer['send']>[0]): Promise<void> {
    try {
      await mailer.send(mail);
    } catch (cause) {
      logger.error({ err: cause }, 'mail delivery failed');
      throw idpErrors.create('IDP_MAIL_FAILED', undefined, { cause });
    }
  }

  async function sendVerification(
    account: { id: string; username: string },
    address: string,
    ip: string,
    reason: 'registration' | 'resend' | 'email-change',
  ): Promise<void> {
    const email = parseEmail(address);
    await throttle([
      [`idp:recovery:ip:${ip}`, config.requestsPerHourPerIp],
      [`idp:recovery:verify:account:${account.id}`, config.mailsPerHour],
      [`idp:recovery:address:${email.key}`, config.mailsPerHour],
    ]);
    const token = await tokens.issue({
      userId: account.id,
      purpose: 'email-verification',
      email: email.display,
      ttlSeconds: config.verificationTtlSeconds,
    });
    try {
      await send(
        verificationMail(mailConfig, {
          to: email.display,
          username: account.username,
          url: link('verify', token),
          ttlSeconds: config.verificationTtlSeconds,
        }),
      );
    } catch (err) {
      await tokens.discard(token);
      throw err;
    }
    await tokens.retireOthers(token);
    await audit.record({
      type: reason === 'email-change' ? 'email.change_requested' : 'email.verification_sent',
      actor: account.id,
      subject: account.id,
      sourceIp: ip,
      details: { reason },
    });
  }

  async function enabledAccount(id: string) {
    const account = await accounts.get(id);
    if (!account?.enabled) throw idpErrors.create('IDP_UNAUTHENTICATED');
    return account;
  }

  return {
    mailer,
    config,

    async resendVerification(accountId, ip) {
      requireMail();
      const account = await enabledAccount(accountId);
      const [row] = await sql.query<{ email: string | null; email_verified: boolean }>(
        'select email, email_verified from idp_users where id = $1',
        [account.id],
      );
      if (!row?.email) throw idpErrors.create('IDP_EMAIL_MISSING');
      if (row.email_verified) throw idpErrors.create('IDP_EMAIL_ALREADY_VERIFIED');
      await sendVerification(account, row.email, ip, 'resend');
    },

    async afterRegistration(account, ip) {
      if (!account.email || !mailer.enabled) return;
      try {
        await sendVerification(account, account.email, ip, 'registration');
      } catch (err) {
        // The account exists either way; the person can ask for the link again.
        logger.warn({ err, accountId: account.id }, 'verification mail after registration not sent');
      }
    },

    async requestEmailChange(accountId, address, ip) {
      requireMail();
      const email = parseEmail(address);
      const account = await enabledAccount(accountId);
      const [row] = await sql.query<{ email_key: string | null; email_verified: boolean }>(
        'select email_key, email_verified from idp_users where id = $1',
        [account.id],
      );
      if (row?.email_key === email.key && row.email_verified) {
        throw idpErrors.create('IDP_EMAIL_ALREADY_VERIFIED');
      }
      const taken = await sql.query('select 1 from idp_users where email_key = $1 and id <> $2', [
        email.key,
        account.id,
      ]);
      if (taken.length > 0) throw idpErrors.create('IDP_EMAIL_TAKEN');
      await sendVerification(account, email.display, ip, 'email-change');
    },

    async verifyEmail(token, ip) {
      const result = await sql.transaction(async (tx) => {
        const found = await tokens.check(tx, token, 'email-verification', true);
        const email = parseEmail(found.email);
        const rows = await tx.query<{ id: string; enabled: boolean; previous: string | null }>(
          `select id, enabled, email_key as previous from idp_users where id = $1`,
          [found.userId],
        );
        if (!rows[0]?.enabled) throw idpErrors.create('IDP_RECOVERY_TOKEN_INVALID');
        const taken = await tx.query('select 1 from idp_users where email_key = $1 and id <> $2', [
          email.key,
          found.userId,
        ]);
        if (taken.length > 0) throw idpErrors.create('IDP_EMAIL_TAKEN');
        await tokens.markUsed(tx, token);
        await tx.query(
          `update idp_users set email = $2, email_key = $3, email_verified = true, updated_at = now()
           where id = $1`,
          [found.userId, email.display, email.key],
        );
        return { userId: found.userId, email: email.display, changed: rows[0].previous !== email.key };
      });
      await audit.record({
        type: 'email.verified',
        actor: result.userId,
        subject: result.userId,
        sourceIp: ip,
        details: { emailChanged: result.changed },
      });
      return { email: result.email };
    },

    async requestPasswordReset(address, ip) {
      requireMail();
      const email = parseEmail(address);
      // Both limits apply to every address, known or not, so that neither tells them apart.
      await throttle([
        [`idp:recovery:ip:${ip}`, config.requestsPerHourPerIp],
        [`idp:recovery:address:${email.key}`, config.mailsPerHour],
      ]);
      const pending = (async () => {
        // After the answer is on its way: neither its content nor its time depends on the lookup.
        await new Promise((resolve) => setImmediate(resolve));
        const [row] = await sql.query<{ id: string; username: string; email: string; enabled: boolean }>(
          `select id, username, email, enabled from idp_users
           where email_key = $1 and password_hash is not null`,
          [email.key],
        );
        if (!row?.enabled) {
          await audit.record({
            type: 'password.reset_requested',
            sourceIp: ip,
            details: { accountFound: false },
          });
          return;
        }
        const perAccount = await state.takeToken(
          `idp:recovery:reset:account:${row.id}`,
          hourly(config.mailsPerHour),
        );
        if (!perAccount.allowed) {
          await audit.record({
            type: 'password.reset_requested',
            subject: row.id,
            sourceIp: ip,
            details: { accountFound: true, sent: false, reason: 'throttled' },
          });
          return;
        }
        const token = await tokens.issue({
          userId: row.id,
          purpose: 'password-reset',
          email: row.email,
          ttlSeconds: config.resetTtlSeconds,
        });
        try {
          await mailer.send(
            passwordResetMail(mailConfig, {
              to: row.email,
              username: row.username,
              url: link('reset', token),
              ttlSeconds: config.resetTtlSeconds,
            }),
          );
        } catch (err) {
          await tokens.discard(token);
          throw err;
        }
        await tokens.retireOthers(token);
        await audit.record({
          type: 'password.reset_requested',
          subject: row.id,
          sourceIp: ip,
          details: { accountFound: true, sent: true },
        });
      })().catch((err: unknown) => logger.error({ err }, 'password reset mail not sent'));
      return { pending };
    },

    async checkResetToken(token) {
      await tokens.check(sql, token, 'password-reset');
    },

    async resetPassword(token, password, ip) {
      const found = await sql.transaction(async (tx) => {
        const found = await tokens.check(tx, token, 'password-reset', true);
        const [row] = await tx.query<{
          username: string;
          enabled: boolean;
          direct: boolean;
          email_key: string | null;
        }>(
          `select username, enabled, password_hash is null as direct, email_key from idp_users where id = $1`,
          [found.userId],
        );
        if (!row?.enabled || row.direct) throw idpErrors.create('IDP_RECOVERY_TOKEN_INVALID');
        // The same rules as at registration; a refused password leaves the link usable.
        checkPassword(password, { usernameKey: usernameKey(row.username) });
        await tokens.markUsed(tx, token);
        // The link reached the address it was sent to: that proves the address.
        if (row.email_key === parseEmail(found.email).key) {
          await tx.query('update idp_users set email_verified = true where id = $1', [found.userId]);
        }
        return found;
      });
      await accounts.setPassword(found.userId, password, found.userId);
      await revokeEverythingOf(idp, found.userId, 'password reset', found.userId);
      await audit.record({
        type: 'password.reset',
        actor: found.userId,
        subject: found.userId,
        sourceIp: ip,
      });
      const account = await accounts.get(found.userId);
      if (account?.email && mailer.enabled) {
        await mailer
          .send(passwordChangedMail(mailConfig, { to: account.email, username: account.username }))
          .catch((err: unknown) => logger.error({ err }, 'password-changed mail not sent'));
      }
    },
  };
}
