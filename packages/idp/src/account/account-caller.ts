import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { cookieValue } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import type { IdpRuntime } from '../index.ts';
import { findClient } from '../protocol/clients.ts';
import { verifyAccessToken } from '../protocol/jwt-tokens.ts';
import { SESSION_COOKIE, verifySessionToken } from '../sessions/session-token.ts';

/**
 * Who is at the account page: a person with a first-party session (the session API's cookie), or a
 * person whose browser session the gateway keeps (its access token forwarded as a bearer). Only a
 * token issued to a first-party client counts: a third-party application holding the person's token
 * must not change their password or end their sessions.
 */
export interface AccountCaller {
  accountId: string;
  /** The sid of the session the request belongs to (first-party sid or hosted sign-in sid). */
  sid: string | undefined;
  /** `cookie` (first-party session) or `bearer` (a first-party client's access token). */
  via: 'cookie' | 'bearer';
}

export async function accountCaller(
  idp: IdpRuntime,
  req: IncomingMessage,
): Promise<AccountCaller | undefined> {
  const { sessions, accounts } = accountServices(idp);
  const tolerance = idp.config.clockToleranceSeconds;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? '');
  let caller: AccountCaller | undefined;
  if (match) {
    const claims = await verifyAccessToken(match[1]!, {
      issuer: idp.issuer,
      keys: () => idp.keys.verifier(),
      revocations: idp.revocations,
      clockToleranceSeconds: tolerance,
    });
    const sub = typeof claims?.sub === 'string' ? claims.sub : '';
    if (!claims || sub === '' || sub === claims.client_id) return undefined;
    const client = await findClient(idp.sql, claims.client_id);
    if (client?.first_party !== true) throw idpErrors.create('IDP_ACCOUNT_CLIENT_REFUSED');
    caller = { accountId: sub, sid: typeof claims.sid === 'string' ? claims.sid : undefined, via: 'bearer' };
  } else {
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const claims = token
      ? await verifySessionToken(idp.keys, token, { issuer: idp.issuer, clockToleranceSeconds: tolerance })
      : undefined;
    const session = claims ? await sessions.findActive(claims.sid) : undefined;
    if (!claims || session?.userId !== claims.sub) return undefined;
    caller = { accountId: claims.sub, sid: claims.sid, via: 'cookie' };
  }
  // The account as it is now: a disabled one is signed out here at once.
  const account = await accounts.get(caller.accountId);
  return account?.enabled ? caller : undefined;
}

/**
 * The account page's form token: an HMAC of the account and session under a key derived from the
 * key-encryption secret, so every replica agrees and a token is worthless in another session.
 */
export function accountFormTokens(secret: string) {
  const key = Buffer.from(hkdfSync('sha256', secret, 'gatehouse-idp', 'account-page-form/v1', 32));
  const tokenFor = (caller: AccountCaller) =>
    createHmac('sha256', key)
      .update(`${caller.accountId}.${caller.sid ?? ''}`)
      .digest('base64url');
  return {
    tokenFor,
    check(caller: AccountCaller, given: string | undefined): void {
      const expected = Buffer.from(tokenFor(caller));
      const actual = Buffer.from(given ?? '');
      if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
        throw idpErrors.create(
          'IDP_CSRF_REJECTED',
          'Cross-site request refused: the form token is missing or wrong',
        );
      }
    },
  };
}
