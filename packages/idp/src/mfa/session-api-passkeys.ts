import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import type { AccountWithRoles } from '../accounts/accounts.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { readAllowedFields } from '../session-api/session-api-fields.ts';
import { passkeyAmr } from './interaction-second-factor.ts';
import { mfaServiceOf } from './mfa-service.ts';

/**
 * Passkeys in the first-party session API (mounted with the second-factor routes):
 *
 * | route                                            | does                                                        |
 * | ------------------------------------------------ | ----------------------------------------------------------- |
 * | `GET  /authentication/passkeys`                  | signed in: the account's passkeys (id, name, dates)         |
 * | `POST /authentication/passkeys/registration-options` | signed in: creation options (challenge kept, used once) |
 * | `POST /authentication/passkeys`                  | signed in: `credential` (JSON) and `name`: 201, registered  |
 * | `POST /authentication/passkeys/rename`           | signed in: `id`, `name`                                     |
 * | `POST /authentication/passkeys/remove`           | signed in: `id`                                             |
 * | `POST /authentication/login/passkey-options`     | `mfaToken` (second factor) or nothing (passwordless): options and a `passkeyToken` |
 * | `POST /authentication/login/passkey`             | `passkeyToken` and `credential`: the session starts          |
 *
 * WebAuthn's JSON forms travel as one string field (`credential`), so the API's bodies stay flat.
 */
type Run = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface SessionApiPasskeysDeps {
  startSession(
    req: IncomingMessage,
    res: ServerResponse,
    account: AccountWithRoles,
    amr: string[],
  ): Promise<void>;
  currentAccountId(req: IncomingMessage): Promise<string | undefined>;
}

const bodyLimit = 16 * 1024;
const limits: Record<string, number> = {
  credential: 12 * 1024,
  name: 256,
  id: 64,
  mfaToken: 64,
  passkeyToken: 64,
};
const tokenShape = /^[A-Za-z0-9_-]{43}$/;
const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

const fields = (req: IncomingMessage, allowed: string[], required: string[]) =>
  readAllowedFields(req, { bodyLimit, limits }, allowed, required);

function credentialOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw idpErrors.create('IDP_FIELD_INVALID', 'Field credential must be a JSON object');
  }
}

export function sessionApiPasskeys(idp: IdpRuntime, deps: SessionApiPasskeysDeps) {
  const { accounts, trusted } = accountServices(idp);
  const { passkeys, challenges } = mfaServiceOf(idp);
  const source = (req: IncomingMessage) => ({ ip: clientAddress(req, trusted), via: 'session-api' });

  async function signedInAccount(req: IncomingMessage): Promise<AccountWithRoles> {
    const id = await deps.currentAccountId(req);
    const account = id ? await accounts.get(id) : undefined;
    if (!account?.enabled) throw idpErrors.create('IDP_UNAUTHENTICATED');
    return account;
  }

  const list: Run = async (req, res) => {
    sendJson(res, 200, { passkeys: await passkeys.list((await signedInAccount(req)).id) });
  };

  const registrationOptions: Run = async (req, res) => {
    await fields(req, [], []);
    const account = await signedInAccount(req);
    sendJson(res, 200, await passkeys.registrationOptions(account.id, account.username));
  };

  const register: Run = async (req, res) => {
    const body = await fields(req, ['credential', 'name'], ['credential', 'name']);
    const account = await signedInAccount(req);
    const added = await passkeys.register(
      account.id,
      credentialOf(body['credential']!),
      body['name']!,
      source(req),
    );
    sendJson(res, 201, added);
  };

  const rename: Run = async (req, res) => {
    const body = await fields(req, ['id', 'name'], ['id', 'name']);
    await passkeys.rename((await signedInAccount(req)).id, body['id']!, body['name']!);
    sendJson(res, 204, undefined);
  };

  const remove: Run = async (req, res) => {
    const body = await fields(req, ['id'], ['id']);
    await passkeys.remove((await signedInAccount(req)).id, body['id']!, source(req));
    sendJson(res, 204, undefined);
  };

  const loginOptions: Run = async (req, res) => {
    const body = await fields(req, ['mfaToken'], []);
    let accountId: string | undefined;
    if (body['mfaToken'] !== undefined) {
      const challenge = await challenges.find(body['mfaToken']);
      if (challenge?.step !== 'code') throw idpErrors.create('IDP_MFA_TOKEN_INVALID');
      accountId = challenge.accountId;
    }
    // The ceremony is named by a token only this caller holds (its digest in the state).
    const passkeyToken = randomBytes(32).toString('base64url');
    const options = await passkeys.assertionOptions(`session:${digest(passkeyToken)}`, accountId);
    sendJson(res, 200, { options, passkeyToken });
  };

  const login: Run = async (req, res) => {
    const body = await fields(
      req,
      ['passkeyToken', 'mfaToken', 'credential'],
      ['passkeyToken', 'credential'],
    );
    if (!tokenShape.test(body['passkeyToken']!)) throw idpErrors.create('IDP_PASSKEY_INVALID');
    const mfaToken = body['mfaToken'];
    const challenge = mfaToken === undefined ? undefined : await challenges.find(mfaToken);
    if (mfaToken !== undefined && challenge?.step !== 'code') throw idpErrors.create('IDP_MFA_TOKEN_INVALID');
    const used = await passkeys.verifyAssertion(
      `session:${digest(body['passkeyToken']!)}`,
      credentialOf(body['credential']!),
      { accountId: challenge?.accountId, requireUserVerification: challenge === undefined },
      source(req),
    );
    if (mfaToken !== undefined) await challenges.consume(mfaToken);
    const account = await accounts.get(used.accountId);
    if (!account?.enabled) throw idpErrors.create('IDP_PASSKEY_INVALID');
    await deps.startSession(req, res, account, passkeyAmr(used.method, challenge !== undefined));
  };

  const routes: Record<string, { method: string; run: Run }> = {
    '/authentication/passkeys': { method: 'GET', run: list },
    '/authentication/passkeys/registration-options': { method: 'POST', run: registrationOptions },
    '/authentication/passkeys/register': { method: 'POST', run: register },
    '/authentication/passkeys/rename': { method: 'POST', run: rename },
    '/authentication/passkeys/remove': { method: 'POST', run: remove },
    '/authentication/login/passkey-options': { method: 'POST', run: loginOptions },
    '/authentication/login/passkey': { method: 'POST', run: login },
  };
  return { routes };
}
