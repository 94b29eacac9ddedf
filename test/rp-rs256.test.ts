/**
 * Relying parties that only read RS256 ID tokens: openid-client configured with
 * `id_token_signed_response_alg: RS256` signs in through the hosted login page when its client is
 * registered (through the admin API) for RS256, and its ID token is signed by the RSA key the JWKS
 * publishes. Access tokens stay ES256. The same relying party against a client left at the default
 * (ES256) is refused by openid-client, which is what a relying party without RS256 support saw before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import {
  type AccountsIdp,
  accessTokenFor,
  browserCookies,
  startAccountsIdp,
} from '../packages/idp/test/accounts-harness.ts';

const REDIRECT_URI = 'https://rp.example.com/callback';

describe('a relying party asking for RS256 ID tokens', () => {
  let t: AccountsIdp;
  let aliceToken: string;

  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
    aliceToken = await accessTokenFor(t, 'alice', 'alice-password');
  });
  after(() => t?.close());

  /** Register a confidential code-flow client through the admin API; resolves to its secret. */
  async function register(clientId: string, extra: Record<string, unknown>): Promise<string> {
    const res = await fetch(`${t.origin}/auth/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId,
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        scope: 'openid profile',
        firstParty: true,
        ...extra,
      }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { clientSecret: string }).clientSecret;
  }

  /** A browser signing in on the hosted page from `authorizationUrl`; resolves to the callback URL. */
  async function signIn(authorizationUrl: URL, username: string, password: string): Promise<URL> {
    const browser = browserCookies();
    let res = await fetch(authorizationUrl, { redirect: 'manual' });
    browser.take(res);
    const page = new URL(res.headers.get('location')!, t.origin);
    const html = await (await fetch(page, { headers: { cookie: browser.header() } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    res = await fetch(`${page}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: browser.header(),
        origin: t.origin,
      },
      body: new URLSearchParams({ csrf, username, password }).toString(),
    });
    for (let i = 0; i < 5; i++) {
      browser.take(res);
      const next = new URL(res.headers.get('location')!, t.origin);
      if (next.origin !== t.origin) return next;
      res = await fetch(next, { redirect: 'manual', headers: { cookie: browser.header() } });
    }
    throw new Error('the sign-in did not come back to the relying party');
  }

  async function relyingParty(clientId: string, secret: string): Promise<oidc.Configuration> {
    return oidc.discovery(
      new URL(`${t.origin}/auth`),
      clientId,
      { id_token_signed_response_alg: 'RS256' },
      oidc.ClientSecretBasic(secret),
      { execute: [oidc.allowInsecureRequests] },
    );
  }

  async function codeFlow(config: oidc.Configuration) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const callback = await signIn(url, 'bob', 'bob-password');
    return oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
  }

  test('discovery lists RS256 for ID tokens', async () => {
    const config = await relyingParty('discovery-only', 'unused');
    assert.ok(config.serverMetadata().id_token_signing_alg_values_supported?.includes('RS256'));
  });

  test('signs in with an RS256 ID token signed by the published RSA key; the access token stays ES256', async () => {
    const secret = await register('rs256-app', { idTokenSignedResponseAlg: 'RS256' });
    const tokens = await codeFlow(await relyingParty('rs256-app', secret));
    assert.equal(tokens.claims()?.sub !== undefined, true);
    const idHeader = decodeProtectedHeader(tokens.id_token!);
    assert.equal(idHeader.alg, 'RS256');
    const jwks = (await (await fetch(`${t.origin}/auth/jwks`)).json()) as {
      keys: Array<Record<string, string>>;
    };
    const key = jwks.keys.find((k) => k['kid'] === idHeader.kid);
    assert.equal(key?.['kty'], 'RSA');
    assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'ES256');
  });

  test('against a client left at the default ES256, the same relying party refuses the ID token', async () => {
    const secret = await register('es256-app', {});
    await assert.rejects(codeFlow(await relyingParty('es256-app', secret)), (err: Error) => {
      const cause = (err as { cause?: { message?: string } }).cause;
      assert.equal((err as { code?: string }).code, 'OAUTH_INVALID_RESPONSE');
      assert.equal(cause?.message, 'unexpected JWT "alg" header parameter');
      return true;
    });
  });

  test('an unknown ID token algorithm is refused at registration with 400', async () => {
    const res = await fetch(`${t.origin}/auth/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId: 'hs256-app',
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT_URI],
        idTokenSignedResponseAlg: 'HS256',
      }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'IDP_FIELD_INVALID');
  });
});
