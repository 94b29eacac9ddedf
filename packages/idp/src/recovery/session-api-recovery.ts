import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import type { RenderedPage } from '../pages/layout.ts';
import { readAllowedFields } from '../session-api/session-api-fields.ts';
import {
  devMailboxPage,
  emailVerifiedPage,
  forgotPasswordPage,
  newPasswordPage,
  passwordChangedPage,
  recoveryErrorPage,
  resetLinkSentPage,
} from './recovery-pages.ts';
import { recoveryServiceOf } from './recovery-service.ts';

/**
 * Account recovery and email in the first-party session API (session-api.ts mounts these routes).
 * JSON:
 *
 * | route                                      | does                                                          |
 * | ------------------------------------------ | ------------------------------------------------------------- |
 * | `POST /authentication/password/forgot`     | `email`: 202, the same answer whether or not an account has it |
 * | `POST /authentication/password/reset`      | `token`, `password`: the new password; every session ends       |
 * | `POST /authentication/email/verify`        | `token`: the link's address becomes the verified address       |
 * | `POST /authentication/email/verification`  | signed in: the verification link again (rate limited)          |
 * | `POST /authentication/email/change`        | signed in, `email`: takes effect when its link is opened       |
 *
 * Hosted pages (HTML, no script): `GET /authentication/recovery/forgot` (form posting to
 * `/authentication/recovery/send-reset-link`), `GET /authentication/recovery/reset?token=` (form
 * posting to `/authentication/recovery/new-password`), `GET /authentication/recovery/verify?token=`
 * (the links in the mails), and `GET /authentication/dev/mailbox` in development mode without SMTP.
 */
type Run = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface SessionApiRecoveryDeps {
  /** The account id of the request's open session, or undefined. */
  currentAccountId(req: IncomingMessage): Promise<string | undefined>;
}

const bodyLimit = 8 * 1024;
const limits: Record<string, number> = { email: 254, token: 64, password: 1024 };

const fields = (req: IncomingMessage, allowed: string[]) =>
  readAllowedFields(req, { bodyLimit, limits }, allowed);

function queryToken(req: IncomingMessage): string {
  const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
  if (!token) throw idpErrors.create('IDP_RECOVERY_TOKEN_INVALID');
  return token;
}

function sendPage(res: ServerResponse, status: number, page: RenderedPage): void {
  res.writeHead(status, page.headers).end(page.html);
}

/** An error of the catalog (a refused input) as `{ status, code, message }`; anything else is rethrown. */
function refusal(err: unknown): { status: number; code: string; message: string } {
  const e = err as { status?: unknown; code?: unknown; message?: unknown };
  if (typeof e.status === 'number' && e.status < 500 && typeof e.code === 'string') {
    return { status: e.status, code: e.code, message: String(e.message) };
  }
  throw err;
}

export function sessionApiRecovery(idp: IdpRuntime, deps: SessionApiRecoveryDeps) {
  const { trusted, config: accountsConfig } = accountServices(idp);
  const recovery = recoveryServiceOf(idp);
  const theme = accountsConfig.theme === '' ? undefined : accountsConfig.theme;
  const ip = (req: IncomingMessage) => clientAddress(req, trusted);
  const log = idp.logger;

  async function signedIn(req: IncomingMessage): Promise<string> {
    const id = await deps.currentAccountId(req);
    if (!id) throw idpErrors.create('IDP_UNAUTHENTICATED');
    return id;
  }

  const resetLinkSentBody = {
    message: 'If an account has this address, a link to choose a new password is on its way',
  };

  // JSON
  const forgot: Run = async (req, res) => {
    const body = await fields(req, ['email']);
    await recovery.requestPasswordReset(body['email']!, ip(req));
    sendJson(res, 202, resetLinkSentBody);
  };
  const reset: Run = async (req, res) => {
    const body = await fields(req, ['token', 'password']);
    await recovery.resetPassword(body['token']!, body['password']!, ip(req));
    sendJson(res, 200, { message: 'Password changed: sign in again with the new password' });
  };
  const verify: Run = async (req, res) => {
    const body = await fields(req, ['token']);
    const { email } = await recovery.verifyEmail(body['token']!, ip(req));
    sendJson(res, 200, { email, emailVerified: true });
  };
  const resend: Run = async (req, res) => {
    await fields(req, []);
    await recovery.resendVerification(await signedIn(req), ip(req));
    sendJson(res, 202, { message: 'A verification link is on its way' });
  };
  const change: Run = async (req, res) => {
    const body = await fields(req, ['email']);
    await recovery.requestEmailChange(await signedIn(req), body['email']!, ip(req));
    sendJson(res, 202, { message: 'Open the link sent to the new address: the change takes effect then' });
  };

  // Hosted pages: a refused input shows the page again (or an error page) with its code.
  const forgotPage: Run = async (_req, res) => sendPage(res, 200, forgotPasswordPage({ theme }));
  const sendResetLink: Run = async (req, res) => {
    let email: string | undefined;
    try {
      email = (await fields(req, ['email']))['email'];
      await recovery.requestPasswordReset(email!, ip(req));
      sendPage(res, 200, resetLinkSentPage(theme));
    } catch (err) {
      const error = refusal(err);
      log.info({ code: error.code }, 'password reset request refused');
      sendPage(res, error.status, forgotPasswordPage({ theme, error, email }));
    }
  };
  const resetPage: Run = async (req, res) => {
    try {
      const token = queryToken(req);
      await recovery.checkResetToken(token);
      sendPage(res, 200, newPasswordPage({ token, theme }));
    } catch (err) {
      const error = refusal(err);
      log.info({ code: error.code }, 'password reset link refused');
      sendPage(res, error.status, recoveryErrorPage('This link does not work', error, theme));
    }
  };
  const newPassword: Run = async (req, res) => {
    let token: string | undefined;
    try {
      const body = await fields(req, ['token', 'password']);
      token = body['token']!;
      await recovery.resetPassword(token, body['password']!, ip(req));
      sendPage(res, 200, passwordChangedPage(theme));
    } catch (err) {
      const error = refusal(err);
      log.info({ code: error.code }, 'password reset refused');
      // A refused password leaves the link usable: the form again. A bad link: the error page.
      const linkProblem = error.code.startsWith('IDP_RECOVERY_TOKEN_') || token === undefined;
      sendPage(
        res,
        error.status,
        linkProblem
          ? recoveryErrorPage('This link does not work', error, theme)
          : newPasswordPage({ token: token!, theme, error }),
      );
    }
  };
  const verifyPage: Run = async (req, res) => {
    try {
      const { email } = await recovery.verifyEmail(queryToken(req), ip(req));
      sendPage(res, 200, emailVerifiedPage(email, theme));
    } catch (err) {
      const error = refusal(err);
      log.info({ code: error.code }, 'email verification refused');
      sendPage(res, error.status, recoveryErrorPage('This link does not work', error, theme));
    }
  };
  const mailbox: Run = async (_req, res) => {
    const mails = recovery.mailer.mailbox;
    if (idp.mode !== 'development' || !mails) throw idpErrors.create('IDP_DEV_MAILBOX_UNAVAILABLE');
    sendPage(res, 200, devMailboxPage(mails, theme));
  };

  const routes: Record<string, { method: string; run: Run }> = {
    '/authentication/password/forgot': { method: 'POST', run: forgot },
    '/authentication/password/reset': { method: 'POST', run: reset },
    '/authentication/email/verify': { method: 'POST', run: verify },
    '/authentication/email/verification': { method: 'POST', run: resend },
    '/authentication/email/change': { method: 'POST', run: change },
    '/authentication/recovery/forgot': { method: 'GET', run: forgotPage },
    '/authentication/recovery/send-reset-link': { method: 'POST', run: sendResetLink },
    '/authentication/recovery/reset': { method: 'GET', run: resetPage },
    '/authentication/recovery/new-password': { method: 'POST', run: newPassword },
    '/authentication/recovery/verify': { method: 'GET', run: verifyPage },
    '/authentication/dev/mailbox': { method: 'GET', run: mailbox },
  };

  return {
    routes,
    /** After a registration: the verification link to the address given, when there is one. */
    afterRegistration: (
      req: IncomingMessage,
      account: { id: string; username: string; email: string | null },
    ) => recovery.afterRegistration(account, ip(req)),
  };
}
