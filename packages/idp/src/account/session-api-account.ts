import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { mfaServiceOf } from '../mfa/mfa-service.ts';
import { readAllowedFields } from '../session-api/session-api-fields.ts';
import { selfServiceOf, type Who } from './self-service.ts';

/**
 * The signed-in person's own account in the first-party session API (session-api.ts mounts these
 * routes); the account page does the same through account-page.ts:
 *
 * | route                                          | does                                                      |
 * | ---------------------------------------------- | --------------------------------------------------------- |
 * | `GET  /authentication/profile`                 | username, email (verified?), roles, whether a password is set |
 * | `POST /authentication/profile/email`           | `email`: a verification link when mail is configured, else at once |
 * | `POST /authentication/password/change`         | `currentPassword`, `newPassword`                           |
 * | `GET  /authentication/sessions`                | the person's active sessions, theirs marked `current`      |
 * | `POST /authentication/sessions/end`            | `id`: ends one (not the current one)                       |
 * | `POST /authentication/sessions/end-others`     | ends every session but the current one: `{ ended }`        |
 * | `GET  /authentication/consents`                | the applications the person let in (grants)               |
 * | `POST /authentication/consents/revoke`         | `id`: the grant, its refresh and access tokens end         |
 * | `POST /authentication/totp/remove`             | the authenticator app and its recovery codes go            |
 * | `POST /authentication/recovery-codes/regenerate` | ten new recovery codes (shown once), the old ones stop working |
 */
type Run = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const bodyLimit = 8 * 1024;
const limits: Record<string, number> = { email: 254, currentPassword: 1024, newPassword: 1024, id: 128 };

const fields = (req: IncomingMessage, allowed: string[]) =>
  readAllowedFields(req, { bodyLimit, limits }, allowed);

export function sessionApiAccount(
  idp: IdpRuntime,
  deps: { currentSession(req: IncomingMessage): Promise<{ sub: string; sid: string } | undefined> },
) {
  const { trusted } = accountServices(idp);
  const self = selfServiceOf(idp);
  const { factors } = mfaServiceOf(idp);

  async function who(req: IncomingMessage): Promise<Who> {
    const session = await deps.currentSession(req);
    if (!session) throw idpErrors.create('IDP_UNAUTHENTICATED');
    return { accountId: session.sub, sid: session.sid, ip: clientAddress(req, trusted), via: 'session-api' };
  }

  // The body is read before the session is checked, as the other routes do: a refused body is
  // answered the same whoever sends it.
  const profile: Run = async (req, res) => sendJson(res, 200, await self.profile((await who(req)).accountId));
  const email: Run = async (req, res) => {
    const body = await fields(req, ['email']);
    const result = await self.changeEmail(await who(req), body['email']!);
    sendJson(res, result.pending ? 202 : 200, {
      pending: result.pending,
      message: result.pending
        ? 'Open the link sent to the new address: the change takes effect then'
        : 'Email address changed',
    });
  };
  const password: Run = async (req, res) => {
    const body = await fields(req, ['currentPassword', 'newPassword']);
    await self.changePassword(await who(req), body['currentPassword']!, body['newPassword']!);
    sendJson(res, 200, { message: 'Password changed' });
  };
  const sessions: Run = async (req, res) =>
    sendJson(res, 200, { sessions: await self.sessions(await who(req)) });
  const endSession: Run = async (req, res) => {
    const body = await fields(req, ['id']);
    await self.endSession(await who(req), body['id']!);
    sendJson(res, 204, undefined);
  };
  const endOthers: Run = async (req, res) => {
    await fields(req, []);
    sendJson(res, 200, { ended: await self.endOtherSessions(await who(req)) });
  };
  const consents: Run = async (req, res) =>
    sendJson(res, 200, { consents: await self.consents((await who(req)).accountId) });
  const revokeConsent: Run = async (req, res) => {
    const body = await fields(req, ['id']);
    await self.revokeConsent(await who(req), body['id']!);
    sendJson(res, 204, undefined);
  };
  const removeTotp: Run = async (req, res) => {
    await fields(req, []);
    const caller = await who(req);
    await factors.removeTotp(caller.accountId, { ip: caller.ip, via: caller.via });
    sendJson(res, 204, undefined);
  };
  const regenerate: Run = async (req, res) => {
    await fields(req, []);
    const caller = await who(req);
    sendJson(res, 200, {
      recoveryCodes: await factors.regenerateRecoveryCodes(caller.accountId, {
        ip: caller.ip,
        via: caller.via,
      }),
    });
  };

  const routes: Record<string, { method: string; run: Run }> = {
    '/authentication/profile': { method: 'GET', run: profile },
    '/authentication/profile/email': { method: 'POST', run: email },
    '/authentication/password/change': { method: 'POST', run: password },
    '/authentication/sessions': { method: 'GET', run: sessions },
    '/authentication/sessions/end': { method: 'POST', run: endSession },
    '/authentication/sessions/end-others': { method: 'POST', run: endOthers },
    '/authentication/consents': { method: 'GET', run: consents },
    '/authentication/consents/revoke': { method: 'POST', run: revokeConsent },
    '/authentication/totp/remove': { method: 'POST', run: removeTotp },
    '/authentication/recovery-codes/regenerate': { method: 'POST', run: regenerate },
  };
  return { routes };
}
