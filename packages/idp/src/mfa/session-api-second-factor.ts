import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import type { AccountWithRoles } from '../accounts/accounts.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { readAllowedFields } from '../session-api/session-api-fields.ts';
import { SECOND_FACTOR_AMR } from './interaction-second-factor.ts';
import { mfaServiceOf } from './mfa-service.ts';
import { sessionApiPasskeys } from './session-api-passkeys.ts';

/**
 * The second factor in the first-party session API (session-api.ts mounts these routes):
 *
 * | route                                          | does                                                            |
 * | ---------------------------------------------- | --------------------------------------------------------------- |
 * | `POST /authentication/login` (password right)  | 401 `IDP_MFA_REQUIRED` or `IDP_MFA_ENROLMENT_REQUIRED` + `mfaToken` |
 * | `POST /authentication/login/second-factor`     | `mfaToken` + `code` or `recoveryCode`: the session starts        |
 * | `POST /authentication/login/totp-setup`        | `mfaToken` of an enrolment: the secret, its otpauth URL, QR code |
 * | `GET  /authentication/second-factors`          | the signed-in person's second factors                           |
 * | `POST /authentication/totp-setup`              | signed in: start a setup (secret, otpauth URL, QR code)         |
 * | `POST /authentication/totp-setup/confirm`      | signed in: `code` activates it; answers the ten recovery codes  |
 *
 * An enrolment at sign-in ends with `/login/second-factor` and the first code: the session starts and
 * the answer carries the recovery codes, the only time they are shown.
 */
type Run = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface SessionApiSecondFactorDeps {
  /** Start the first-party session of `account` (its sign-in's `amr`) and answer it, with `extra` in the body. */
  startSession(
    req: IncomingMessage,
    res: ServerResponse,
    account: AccountWithRoles,
    amr: string[],
    extra?: Record<string, unknown>,
  ): Promise<void>;
  /** The account id of the request's open session, or undefined. */
  currentAccountId(req: IncomingMessage): Promise<string | undefined>;
}

const bodyLimit = 8 * 1024;
const limits: Record<string, number> = { mfaToken: 64, code: 16, recoveryCode: 64 };

const fields = (req: IncomingMessage, allowed: string[], required: string[]) =>
  readAllowedFields(req, { bodyLimit, limits }, allowed, required);

export function sessionApiSecondFactor(idp: IdpRuntime, deps: SessionApiSecondFactorDeps) {
  const { accounts, trusted } = accountServices(idp);
  const { factors, challenges } = mfaServiceOf(idp);
  const source = (req: IncomingMessage) => ({ ip: clientAddress(req, trusted), via: 'session-api' });

  async function codeMethods(accountId: string): Promise<string[]> {
    const status = await factors.status(accountId);
    return [...(status.totp ? ['totp', 'recovery-code'] : []), ...(status.passkeys > 0 ? ['passkey'] : [])];
  }

  /** After a right password: answer the challenge and return true when a second factor is due. */
  async function afterPassword(_req: IncomingMessage, res: ServerResponse, account: AccountWithRoles) {
    const step = await factors.afterPassword(account.id, account);
    if (step === 'none') return false;
    const mfaToken = await challenges.issue({ accountId: account.id, step });
    const code = step === 'code' ? 'IDP_MFA_REQUIRED' : 'IDP_MFA_ENROLMENT_REQUIRED';
    const error = idpErrors.create(code);
    sendJson(res, error.status, {
      error: code,
      message: error.message,
      mfaToken,
      methods: step === 'code' ? await codeMethods(account.id) : ['totp-setup'],
    });
    return true;
  }

  async function signedInAccount(req: IncomingMessage): Promise<AccountWithRoles> {
    const id = await deps.currentAccountId(req);
    const account = id ? await accounts.get(id) : undefined;
    if (!account?.enabled) throw idpErrors.create('IDP_UNAUTHENTICATED');
    return account;
  }

  const secondFactor: Run = async (req, res) => {
    const body = await fields(req, ['mfaToken', 'code', 'recoveryCode'], ['mfaToken']);
    const challenge = await challenges.find(body['mfaToken']!);
    if (!challenge || challenge.step === 'done') throw idpErrors.create('IDP_MFA_TOKEN_INVALID');
    if (!body['code'] && !body['recoveryCode']) {
      throw idpErrors.create('IDP_FIELD_MISSING', 'Field code or recoveryCode is required');
    }
    let extra: Record<string, unknown> = {};
    if (challenge.step === 'enrol') {
      if (!body['code']) throw idpErrors.create('IDP_FIELD_MISSING', 'Field code is required');
      extra = { recoveryCodes: await factors.confirmTotp(challenge.accountId, body['code'], source(req)) };
    } else {
      await factors.verify(
        challenge.accountId,
        { code: body['code'], recoveryCode: body['recoveryCode'] },
        source(req),
      );
    }
    await challenges.consume(body['mfaToken']!);
    const account = await accounts.get(challenge.accountId);
    if (!account?.enabled) throw idpErrors.create('IDP_MFA_TOKEN_INVALID');
    await deps.startSession(req, res, account, SECOND_FACTOR_AMR, extra);
  };

  const loginTotpSetup: Run = async (req, res) => {
    const body = await fields(req, ['mfaToken'], ['mfaToken']);
    const challenge = await challenges.find(body['mfaToken']!);
    if (challenge?.step !== 'enrol') throw idpErrors.create('IDP_MFA_TOKEN_INVALID');
    const account = await accounts.get(challenge.accountId);
    if (!account?.enabled) throw idpErrors.create('IDP_MFA_TOKEN_INVALID');
    const setup = await factors.beginTotp(account.id, account.username);
    sendJson(res, 200, { secret: setup.secret, otpauthUrl: setup.otpauthUrl, qrCode: setup.qrCodeDataUrl });
  };

  const status: Run = async (req, res) => {
    sendJson(res, 200, await factors.status((await signedInAccount(req)).id));
  };

  const totpSetup: Run = async (req, res) => {
    await fields(req, [], []);
    const account = await signedInAccount(req);
    const setup = await factors.beginTotp(account.id, account.username);
    sendJson(res, 200, { secret: setup.secret, otpauthUrl: setup.otpauthUrl, qrCode: setup.qrCodeDataUrl });
  };

  const totpConfirm: Run = async (req, res) => {
    const body = await fields(req, ['code'], ['code']);
    const account = await signedInAccount(req);
    sendJson(res, 200, { recoveryCodes: await factors.confirmTotp(account.id, body['code']!, source(req)) });
  };

  const routes: Record<string, { method: string; run: Run }> = {
    '/authentication/login/second-factor': { method: 'POST', run: secondFactor },
    '/authentication/login/totp-setup': { method: 'POST', run: loginTotpSetup },
    '/authentication/second-factors': { method: 'GET', run: status },
    '/authentication/totp-setup': { method: 'POST', run: totpSetup },
    '/authentication/totp-setup/confirm': { method: 'POST', run: totpConfirm },
    ...sessionApiPasskeys(idp, deps).routes,
  };
  return { afterPassword, routes };
}
