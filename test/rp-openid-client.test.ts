// openid-client (a certified relying-party library) against a real
// `gatehouse dev` process, signing in on the hosted login page the way a browser does.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { Browser, forms, type Page, signIn } from './support/browser.ts';
import { type DevStack, startDevStack } from './support/dev-process.ts';

const insecure = { execute: [oidc.allowInsecureRequests] };

describe('openid-client against gatehouse dev', { timeout: 110_000 }, () => {
  let dev: DevStack;
  let app: oidc.Configuration;
  let service: oidc.Configuration;
  let redirectUri = '';
  const browser = new Browser();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  let loginPage: Page;
  let callback: URL;
  const seen: string[] = [];
  let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  let firstRefreshToken = '';
  let rotated: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

  before(async () => {
    dev = await startDevStack();
    redirectUri = `${dev.origin}/callback`;
    app = await oidc.discovery(new URL(dev.issuer), 'demo-app', undefined, oidc.None(), insecure);
    service = await oidc.discovery(
      new URL(dev.issuer),
      'demo-service',
      undefined,
      oidc.ClientSecretBasic('demo-service-secret'),
      insecure,
    );
  });
  after(() => dev?.close());

  const atCallback = (u: URL) => `${u.origin}${u.pathname}` === redirectUri;

  test('discovery names the issuer and every endpoint on the gateway origin', () => {
    const meta = app.serverMetadata();
    assert.equal(meta.issuer, dev.issuer);
    assert.equal(meta.authorization_endpoint, `${dev.issuer}/auth`);
    assert.equal(meta.token_endpoint, `${dev.issuer}/token`);
    assert.equal(meta.userinfo_endpoint, `${dev.issuer}/me`);
    assert.equal(meta.introspection_endpoint, `${dev.issuer}/token/introspection`);
    assert.equal(meta.revocation_endpoint, `${dev.issuer}/token/revocation`);
    assert.equal(meta.end_session_endpoint, `${dev.issuer}/session/end`);
    assert.equal(meta.jwks_uri, `${dev.issuer}/jwks`);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
  });

  test('client credentials: demo-service gets a JWT access token with its roles', async () => {
    const cc = await oidc.clientCredentialsGrant(service);
    assert.equal(cc.token_type.toLowerCase(), 'bearer');
    assert.equal(decodeProtectedHeader(cc.access_token).typ, 'at+jwt');
    const claims = decodeJwt(cc.access_token);
    assert.equal(claims.sub, 'demo-service');
    assert.equal(claims['client_id'], 'demo-service');
    assert.deepEqual(claims['roles'], ['service']);
  });

  test('the authorization URL lands on the hosted login form with a CSRF token', async () => {
    const url = oidc.buildAuthorizationUrl(app, {
      redirect_uri: redirectUri,
      scope: 'openid profile email offline_access',
      // OpenID Connect Core 11: offline_access is only granted with prompt=consent.
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    loginPage = await browser.navigate(url, atCallback);
    assert.equal(loginPage.status, 200);
    assert.match(loginPage.url.pathname, /^\/auth\/interaction\/[^/]+$/);
    const [login] = forms(loginPage);
    assert.ok(login, loginPage.html);
    assert.equal(login.action.href, `${loginPage.url.href}/login`);
    assert.match(login.fields['csrf'] ?? '', /^[A-Za-z0-9_-]{20,}$/);
    assert.deepEqual(login.textInputs, ['username']);
    assert.deepEqual(login.passwordInputs, ['password']);
  });

  test('posting the login form as alice redirects to the callback with a code and the state, without a consent page: demo-app is first-party, even with prompt=consent', async () => {
    const end = await signIn(
      browser,
      loginPage,
      { username: 'alice', password: 'alice-password' },
      atCallback,
      seen,
    );
    callback = end.url;
    assert.deepEqual(seen, ['login']);
    assert.equal(end.status, 303);
    assert.equal(callback.searchParams.get('state'), state);
    assert.equal(callback.searchParams.get('iss'), dev.issuer);
    assert.ok((callback.searchParams.get('code') ?? '').length >= 43);
  });

  test('the code exchange returns a valid ID token, a JWT access token and a refresh token', async () => {
    tokens = await oidc.authorizationCodeGrant(app, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, 'openid profile email offline_access');
    assert.equal(typeof tokens.refresh_token, 'string');
    firstRefreshToken = tokens.refresh_token!;
    const id = tokens.claims()!;
    assert.equal(id.iss, dev.issuer);
    assert.equal(id.aud, 'demo-app');
    assert.equal(id.nonce, nonce);
    assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
    const at = decodeJwt(tokens.access_token);
    assert.equal(at.sub, id.sub);
    assert.equal(at['client_id'], 'demo-app');
    assert.equal(at['username'], 'alice');
    assert.deepEqual(at['roles'], ['admin', 'user']);
    assert.equal(typeof at['sid'], 'string');
  });

  test('userinfo answers alice’s claims for the access token', async () => {
    const sub = tokens.claims()!.sub;
    const info = await oidc.fetchUserInfo(app, tokens.access_token, sub);
    assert.deepEqual(
      { ...info, updated_at: typeof info.updated_at },
      {
        sub,
        preferred_username: 'alice',
        email: 'alice@example.com',
        email_verified: false,
        updated_at: 'number',
      },
    );
  });

  test('introspection by the confidential demo-service reports the access token active', async () => {
    const info = await oidc.tokenIntrospection(service, tokens.access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'demo-app');
    assert.equal(info.sub, tokens.claims()!.sub);
    assert.equal(info.token_type, 'Bearer');
  });

  test('after revocation by its client the access token is inactive and userinfo refuses it', async () => {
    await oidc.tokenRevocation(app, tokens.access_token, { token_type_hint: 'access_token' });
    assert.deepEqual(await oidc.tokenIntrospection(service, tokens.access_token), { active: false });
    const res = await fetch(`${dev.issuer}/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test('refresh rotates the refresh token and gives a new active access token', async () => {
    rotated = await oidc.refreshTokenGrant(app, firstRefreshToken);
    assert.equal(typeof rotated.refresh_token, 'string');
    assert.notEqual(rotated.refresh_token, firstRefreshToken);
    assert.notEqual(rotated.access_token, tokens.access_token);
    assert.equal((await oidc.tokenIntrospection(service, rotated.access_token)).active, true);
  });

  test('the old refresh token is refused with invalid_grant once rotated', async () => {
    await assert.rejects(oidc.refreshTokenGrant(app, firstRefreshToken), (err: unknown) => {
      assert.ok(err instanceof oidc.ResponseBodyError, String(err));
      assert.equal(err.status, 400);
      assert.equal(err.error, 'invalid_grant');
      return true;
    });
  });

  test('that reuse revoked the grant: the rotated refresh token and its access token are dead too', async () => {
    await assert.rejects(oidc.refreshTokenGrant(app, rotated.refresh_token!), (err: unknown) => {
      assert.ok(err instanceof oidc.ResponseBodyError, String(err));
      assert.equal(err.error, 'invalid_grant');
      return true;
    });
    assert.deepEqual(await oidc.tokenIntrospection(service, rotated.access_token), { active: false });
  });

  test('RP-initiated logout with an unregistered post_logout_redirect_uri is an error page, no redirect', async () => {
    const url = oidc.buildEndSessionUrl(app, {
      post_logout_redirect_uri: `${dev.origin}/elsewhere`,
      client_id: 'demo-app',
    });
    const res = await browser.request(url);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /invalid_request/);
  });

  test('RP-initiated logout confirms, redirects to the exact registered URI with the state, and ends the session', async () => {
    const url = oidc.buildEndSessionUrl(app, {
      post_logout_redirect_uri: `${dev.origin}/`,
      id_token_hint: tokens.id_token!,
      state: 'logout-state',
    });
    const home = (u: URL) => u.origin === dev.origin && u.pathname === '/';
    const page = await browser.navigate(url, home);
    assert.equal(page.status, 200);
    const [confirm] = forms(page);
    assert.ok(confirm, page.html);
    assert.equal(confirm.action.href, `${dev.issuer}/session/end/confirm`);
    // The "Yes" button sits outside the form (form="op.logoutForm"), so its value is added here.
    const done = await browser.submit(page, confirm, { logout: 'yes' }, home);
    assert.equal(done.status, 303);
    assert.equal(done.url.href, `${dev.origin}/?state=logout-state`);

    // The session is gone: a silent authorization request now needs a login.
    const silent = oidc.buildAuthorizationUrl(app, {
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      state: 'silent',
      prompt: 'none',
    });
    const back = await browser.navigate(silent, atCallback);
    assert.equal(back.url.searchParams.get('error'), 'login_required');
    assert.equal(back.url.searchParams.get('state'), 'silent');
  });
});
