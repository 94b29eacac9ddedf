import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { ALICE, authorize, cookieJar, startIdp, type TestIdp } from './idp-harness.ts';

const REDIRECT = 'http://localhost:8080/callback';

// openid-client as the relying party, against the demo-app public client (code + PKCE).
describe('authorization code flow with openid-client', () => {
  let t: TestIdp;
  let rp: oidc.Configuration;
  const jar = cookieJar();
  let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

  before(async () => {
    t = await startIdp();
    rp = await oidc.discovery(new URL(t.issuer), 'demo-app', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email offline_access',
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const callback = await authorize(t, url, ALICE, jar);
    tokens = await oidc.authorizationCodeGrant(rp, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
  });
  after(() => t?.close());

  test('the code exchange returns an ID token, a JWT access token and a refresh token', async () => {
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, 'openid profile email offline_access');
    assert.equal(typeof tokens.refresh_token, 'string');
    const claims = tokens.claims()!;
    assert.equal(claims.sub, ALICE);
    assert.equal(claims.iss, t.issuer);
    assert.equal(claims.aud, 'demo-app');
    assert.equal(decodeProtectedHeader(tokens.id_token!).kid !== undefined, true);
  });

  test('the access token is an at+jwt for the default audience with user claims', async () => {
    assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
    const { payload } = await jwtVerify(
      tokens.access_token,
      createRemoteJWKSet(new URL(`${t.issuer}/jwks`)),
      {
        issuer: t.issuer,
        audience: t.origin,
        typ: 'at+jwt',
      },
    );
    assert.equal(payload.sub, ALICE);
    assert.equal(payload['client_id'], 'demo-app');
    assert.equal(payload['username'], 'alice');
    assert.deepEqual(payload['roles'], ['admin', 'user']);
    assert.equal(payload['scope'], 'openid profile email offline_access');
    assert.equal(typeof payload['sid'], 'string');
    assert.equal(typeof payload.jti, 'string');
  });

  test('userinfo answers the claims of the granted scopes for the JWT access token', async () => {
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, ALICE);
    assert.deepEqual(info, {
      sub: ALICE,
      preferred_username: 'alice',
      email: 'alice@example.com',
      email_verified: true,
    });
  });

  test('userinfo refuses a bearer JWT that is not ours', async () => {
    const forged = `${tokens.access_token.slice(0, -4)}AAAA`;
    const res = await fetch(`${t.issuer}/me`, { headers: { authorization: `Bearer ${forged}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('introspection reports the access token active with its claims', async () => {
    const info = await oidc.tokenIntrospection(rp, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'demo-app');
    assert.equal(info.sub, ALICE);
    assert.equal(info['username'], 'alice');
  });

  test('refresh rotates the refresh token and issues a new access token', async () => {
    const refreshed = await oidc.refreshTokenGrant(rp, tokens.refresh_token!);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.equal(decodeProtectedHeader(refreshed.access_token).typ, 'at+jwt');
    tokens = refreshed;
  });

  test('revoking the access token makes introspection report it inactive', async () => {
    await oidc.tokenRevocation(rp, tokens.access_token);
    const info = await oidc.tokenIntrospection(rp, tokens.access_token);
    assert.deepEqual(info, { active: false });
    const res = await fetch(`${t.issuer}/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(res.status, 401);
  });

  test('RP-initiated logout ends the session and redirects to the exact registered URI with state', async () => {
    const endUrl = oidc.buildEndSessionUrl(rp, {
      post_logout_redirect_uri: 'http://localhost:8080/',
      state: 'logout-state',
      client_id: 'demo-app',
    });
    const page = await fetch(endUrl, { headers: { cookie: jar.header() } });
    jar.take(page);
    assert.equal(page.status, 200);
    const html = await page.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(xsrf, 'the logout confirmation form carries an xsrf token');
    const confirm = await fetch(`${t.issuer}/session/end/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    assert.equal(confirm.status, 303);
    assert.equal(confirm.headers.get('location'), 'http://localhost:8080/?state=logout-state');
  });

  test('logout with an unregistered post_logout_redirect_uri shows an error page, no redirect', async () => {
    const endUrl = oidc.buildEndSessionUrl(rp, {
      post_logout_redirect_uri: 'http://localhost:8080/elsewhere',
      client_id: 'demo-app',
    });
    const res = await fetch(endUrl, { redirect: 'manual', headers: { accept: 'text/html' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /invalid_request/);
  });
});
