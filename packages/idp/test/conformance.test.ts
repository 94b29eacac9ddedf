import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { ALICE, authorize, startIdp, type TestIdp } from './idp-harness.ts';

// Modules of the OpenID Foundation's basic OP plan that apply to the code flow
// (shared/conformance/oidc-op-checklist.md), each as its own scenario.
const REDIRECT = 'http://localhost:8080/callback';
const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('OpenID conformance: basic plan, code flow', () => {
  let t: TestIdp;
  let web: oidc.Configuration;

  before(async () => {
    t = await startIdp();
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'web-app',
        clientSecret: 'web-app-secret-of-some-length',
        tokenEndpointAuthMethod: 'client_secret_post',
        grantTypes: ['authorization_code', 'refresh_token'],
        redirectUris: [REDIRECT],
        postLogoutRedirectUris: [],
        scope: 'openid profile email offline_access',
        roles: [],
        firstParty: false,
      }),
      'admin',
    );
    web = await oidc.discovery(
      new URL(t.issuer),
      'web-app',
      undefined,
      oidc.ClientSecretPost('web-app-secret-of-some-length'),
      { execute: [oidc.allowInsecureRequests] },
    );
  });
  after(() => t?.close());

  async function login(params: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(web, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'conformance-state',
      ...params,
    });
    const callback = await authorize(t, url, ALICE);
    return { callback, verifier };
  }

  test('oidcc-server-client-secret-post: a confidential client completes the flow with client_secret_post', async () => {
    const { callback, verifier } = await login({ nonce: 'n-1' });
    const code = callback.searchParams.get('code')!;
    assert.ok(code.length >= 43, 'the code carries at least 256 bits');
    const tokens = await oidc.authorizationCodeGrant(web, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 'conformance-state',
      expectedNonce: 'n-1',
    });
    const header = decodeProtectedHeader(tokens.id_token!);
    assert.equal(header.alg, 'ES256');
    const jwks = (await (await fetch(`${t.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    assert.ok(
      jwks.keys.some((k) => k.kid === header.kid),
      'the ID token kid is published',
    );
    const { payload } = await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks as never), {
      issuer: t.issuer,
      audience: 'web-app',
    });
    assert.equal(payload['nonce'], 'n-1');
    assert.equal(payload.sub, ALICE);
  });

  test('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', async () => {
    const { callback, verifier } = await login();
    const tokens = await oidc.authorizationCodeGrant(web, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 'conformance-state',
    });
    assert.equal(tokens.claims()!['nonce'], undefined);
  });

  test('oidcc-ensure-request-with-unknown-parameter-succeeds and oidcc-alternate-happy-flow', async () => {
    const { callback } = await login({ scope: 'email openid', unknown_extension: 'ignored' });
    assert.equal(typeof callback.searchParams.get('code'), 'string');
    assert.equal(callback.searchParams.get('state'), 'conformance-state');
  });

  test('oidcc-userinfo-get, -post-header and -post-body all answer the same claims', async () => {
    const { callback, verifier } = await login();
    const { access_token } = await oidc.authorizationCodeGrant(web, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 'conformance-state',
    });
    const expected = {
      sub: ALICE,
      preferred_username: 'alice',
      email: 'alice@example.com',
      email_verified: true,
    };
    const get = await fetch(`${t.issuer}/me`, { headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(get.status, 200);
    assert.deepEqual(await get.json(), expected);
    const postHeader = await fetch(`${t.issuer}/me`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}` },
    });
    assert.equal(postHeader.status, 200);
    assert.deepEqual(await postHeader.json(), expected);
    const postBody = await fetch(`${t.issuer}/me`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ access_token }).toString(),
    });
    assert.equal(postBody.status, 200);
    assert.deepEqual(await postBody.json(), expected);
  });

  test('oidcc-prompt-none-not-logged-in: login_required comes back with a long state intact', async () => {
    const state = 'x'.repeat(64) + '-_.~' + 'y'.repeat(80);
    const url = oidc.buildAuthorizationUrl(web, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      prompt: 'none',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state,
    });
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin + location.pathname, REDIRECT);
    assert.equal(location.searchParams.get('error'), 'login_required');
    assert.equal(location.searchParams.get('state'), state);
    assert.equal(location.searchParams.get('iss'), t.issuer);
  });

  test('oidcc-response-type-missing: an error, and no code', async () => {
    const url = new URL(`${t.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'web-app',
      redirect_uri: REDIRECT,
      scope: 'openid',
      state: 's',
    }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.equal(location.searchParams.get('code'), null);
  });

  test('oidcc-refresh-token: a confidential client refreshes; another client’s refresh token is refused', async () => {
    const { callback, verifier } = await login({ scope: 'openid offline_access', prompt: 'consent' });
    const tokens = await oidc.authorizationCodeGrant(web, callback, {
      pkceCodeVerifier: verifier,
      expectedState: 'conformance-state',
    });
    const refreshed = await oidc.refreshTokenGrant(web, tokens.refresh_token!);
    assert.equal(typeof refreshed.access_token, 'string');
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshed.refresh_token!,
        client_id: 'demo-app',
      }).toString(),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
  });
});
