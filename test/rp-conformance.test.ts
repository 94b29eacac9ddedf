// Checks from the OpenID Foundation's OP plans (/work/shared/conformance/oidc-op-checklist.md) that
// packages/idp/test does not cover yet, run through the public HTTP API of a real `gatehouse dev`
// with openid-client as the relying party and the hosted login form posted as a browser does.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { Browser, forms, type Page, signIn } from './support/browser.ts';
import { type DevStack, startDevStack } from './support/dev-process.ts';

const WEB = 'conformance-web';
const WEB_SECRET = 'conformance-web-secret-of-some-length';
const JWT_CLIENT = 'conformance-jwt';
// Never contacted: the browser stops at the redirect, as the conformance suite's callback does.
const REDIRECT = 'http://127.0.0.1:9/cb';
const ALICE = { username: 'alice', password: 'alice-password' };
const insecure = { execute: [oidc.allowInsecureRequests] };

describe('OpenID conformance checks through gatehouse dev', { timeout: 110_000 }, () => {
  const configDir = mkdtempSync(join(tmpdir(), 'gh-rp-conformance-'));
  let dev: DevStack;
  let web: oidc.Configuration;
  let signingKey: CryptoKey;
  const browser = new Browser();
  let session: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  /** auth_time of the browser's current session (an ID token carries it when max_age is asked). */
  let authTime = 0;

  before(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'conformance-1', alg: 'ES256', use: 'sig' };
    const configFile = join(configDir, 'gatehouse.yaml');
    writeFileSync(
      configFile,
      JSON.stringify({
        idp: {
          features: { dpop: true },
          clients: [
            {
              clientId: WEB,
              clientSecret: WEB_SECRET,
              tokenEndpointAuthMethod: 'client_secret_basic',
              redirectUris: [REDIRECT],
              scope: 'openid profile email offline_access',
              firstParty: true,
            },
            {
              clientId: JWT_CLIENT,
              tokenEndpointAuthMethod: 'private_key_jwt',
              grantTypes: ['client_credentials'],
              jwks: { keys: [jwk] },
              scope: '',
            },
          ],
        },
      }),
    );
    dev = await startDevStack({ GATEHOUSE_CONFIG: configFile });
    web = await oidc.discovery(
      new URL(dev.issuer),
      WEB,
      undefined,
      oidc.ClientSecretBasic(WEB_SECRET),
      insecure,
    );
  });
  after(async () => {
    await dev?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const atRedirect = (u: URL) => `${u.origin}${u.pathname}` === REDIRECT;

  interface Started {
    page: Page;
    verifier: string;
    state: string;
    nonce: string;
  }

  async function startAuthorization(params: Record<string, string> = {}, as = browser): Promise<Started> {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(web, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      ...params,
    });
    return { page: await as.navigate(url, atRedirect), verifier, state, nonce };
  }

  function isLoginPage(page: Page): boolean {
    return page.status === 200 && forms(page).some((f) => f.passwordInputs.length > 0);
  }

  async function exchange(started: Started, callback: URL, checks: { maxAge?: number } = {}) {
    assert.ok(atRedirect(callback), `expected the redirect URI, got ${callback.href}`);
    return oidc.authorizationCodeGrant(web, callback, {
      pkceCodeVerifier: started.verifier,
      expectedState: started.state,
      expectedNonce: started.nonce,
      ...checks,
    });
  }

  /** A full sign-in on the hosted form; resolves to the tokens. */
  async function fullLogin(params: Record<string, string> = {}, as = browser) {
    const started = await startAuthorization(params, as);
    assert.ok(
      isLoginPage(started.page),
      `expected the login page, got ${started.page.status} ${started.page.url}`,
    );
    const end = await signIn(as, started.page, ALICE, atRedirect);
    return exchange(started, end.url);
  }

  test('oidcc-config and oidcc-idtoken-unsigned: no alg none, no dynamic registration, no session iframe or front-channel logout offered', () => {
    const meta = web.serverMetadata();
    assert.ok(Array.isArray(meta.id_token_signing_alg_values_supported));
    assert.ok(!meta.id_token_signing_alg_values_supported.includes('none'));
    assert.equal(meta.registration_endpoint, undefined);
    assert.equal(meta['check_session_iframe'], undefined);
    assert.notEqual(meta['frontchannel_logout_supported'], true);
    assert.ok(meta.scopes_supported?.includes('openid'));
  });

  test('oidcc-scope-address, -phone and -all: scopes the provider does not offer are ignored and the flow completes', async () => {
    session = await fullLogin({ scope: 'openid profile email address phone' });
    assert.equal(session.scope, 'openid profile email');
    const info = await oidc.fetchUserInfo(web, session.access_token, session.claims()!.sub);
    assert.equal(info.preferred_username, 'alice');
    assert.equal(info.address, undefined);
    assert.equal(info.phone_number, undefined);
  });

  test('oidcc-prompt-none-logged-in: a signed-in browser gets a code straight away', async () => {
    const started = await startAuthorization({ prompt: 'none' });
    assert.equal(started.page.status, 303);
    const tokens = await exchange(started, started.page.url);
    assert.equal(tokens.claims()!.sub, session.claims()!.sub);
  });

  test('oidcc-id-token-hint: prompt=none with the session’s ID token as hint gives a code for the same subject', async () => {
    const started = await startAuthorization({ prompt: 'none', id_token_hint: session.id_token! });
    assert.equal(started.page.status, 303);
    const tokens = await exchange(started, started.page.url);
    assert.equal(tokens.claims()!.sub, session.claims()!.sub);
  });

  test('oidcc-max-age-10000: no login page, and the ID token carries auth_time', async () => {
    const started = await startAuthorization({ max_age: '10000' });
    assert.equal(started.page.status, 303);
    const tokens = await exchange(started, started.page.url, { maxAge: 10000 });
    assert.equal(typeof tokens.claims()!.auth_time, 'number');
    authTime = tokens.claims()!.auth_time!;
  });

  test('oidcc-prompt-login: prompt=login shows the login form again, and the new auth_time is later', async () => {
    const first = authTime;
    assert.ok(first > 0);
    // auth_time has one-second resolution: wait (by condition) until a later second has begun.
    while (Math.floor(Date.now() / 1000) <= first) await new Promise((r) => setTimeout(r, 50));
    // max_age makes the ID token carry auth_time (OpenID Connect Core 2).
    const again = await fullLogin({ prompt: 'login', max_age: '10000' });
    assert.ok(again.claims()!.auth_time! > first, `${again.claims()!.auth_time} > ${first}`);
    authTime = again.claims()!.auth_time!;
  });

  test('oidcc-max-age-1: more than a second after the sign-in, max_age=1 shows the login form again', async () => {
    const signedIn = authTime;
    while (Date.now() / 1000 - signedIn <= 2) await new Promise((r) => setTimeout(r, 100));
    const started = await startAuthorization({ max_age: '1' });
    assert.ok(isLoginPage(started.page), `${started.page.status} ${started.page.url}`);
    const end = await signIn(browser, started.page, ALICE, atRedirect);
    const tokens = await exchange(started, end.url, { maxAge: 1 });
    assert.ok(tokens.claims()!.auth_time! > signedIn);
  });

  test('oidcc-display-page, -popup, ui-locales, claims-locales and acr-values are accepted and the flow completes', async () => {
    const fresh = new Browser();
    const tokens = await fullLogin(
      { display: 'popup', ui_locales: 'fr-CA fr en', claims_locales: 'fr-CA', acr_values: '1 2' },
      fresh,
    );
    assert.equal(tokens.claims()!.aud, WEB);
  });

  test('oidcc-login-hint: a login_hint is accepted and the flow completes', async () => {
    const fresh = new Browser();
    const started = await startAuthorization({ login_hint: 'alice' }, fresh);
    assert.ok(isLoginPage(started.page));
    const end = await signIn(fresh, started.page, ALICE, atRedirect);
    assert.equal((await exchange(started, end.url)).claims()!.aud, WEB);
  });

  test('oidcc-claims-essential: a claims request for an essential claim does not break the flow', async () => {
    const fresh = new Browser();
    const tokens = await fullLogin(
      { claims: JSON.stringify({ userinfo: { name: { essential: true } }, id_token: { email: null } }) },
      fresh,
    );
    assert.equal(tokens.claims()!.aud, WEB);
  });

  // A deliberate departure from OIDC Core 3.1.2.1 (and the conformance module
  // oidcc-ensure-post-request-succeeds): oidc-provider 9 serves a form POST to the authorization
  // endpoint only with `enableHttpPostMethods`, which requires SameSite=None session cookies, and
  // so gives up the cross-site protection SameSite=Lax gives the session. GET works for every client.
  test('a form POST to the authorization endpoint is refused; GET is the supported method', async () => {
    const res = await browser.request(`${dev.issuer}/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: WEB,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
      }).toString(),
    });
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });

  test('oidcc-unsigned-request-object: an unsigned request object is refused as request_not_supported at the redirect URI', async () => {
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ client_id: WEB, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid' }),
    ).toString('base64url')}.`;
    const started = await startAuthorization({ request: unsigned });
    assert.equal(started.page.status, 303);
    assert.ok(atRedirect(started.page.url), started.page.url.href);
    assert.equal(started.page.url.searchParams.get('error'), 'request_not_supported');
    assert.equal(started.page.url.searchParams.get('state'), started.state);
  });

  test('oidcc-request-uri-unsigned: a request_uri is refused as request_uri_not_supported at the redirect URI', async () => {
    const started = await startAuthorization({ request_uri: 'http://127.0.0.1:9/request.jwt' });
    assert.equal(started.page.status, 303);
    assert.ok(atRedirect(started.page.url), started.page.url.href);
    assert.equal(started.page.url.searchParams.get('error'), 'request_uri_not_supported');
    assert.equal(started.page.url.searchParams.get('state'), started.state);
  });

  describe('FAPI 2 hardening: private_key_jwt client assertions', () => {
    async function assertion(claims: JWTPayload, iat = Math.floor(Date.now() / 1000)) {
      return new SignJWT({ jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'conformance-1' })
        .setIssuer(JWT_CLIENT)
        .setSubject(JWT_CLIENT)
        .setAudience(dev.issuer)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 60)
        .sign(signingKey);
    }
    function grant(clientAssertion: string) {
      return fetch(`${dev.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: clientAssertion,
        }).toString(),
      });
    }

    test('an assertion issued now gets a token', async () => {
      const res = await grant(await assertion({}));
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { token_type: string }).token_type, 'Bearer');
    });

    test('an assertion with iat a few seconds in the future (clock skew) is accepted', async () => {
      const res = await grant(await assertion({}, Math.floor(Date.now() / 1000) + 5));
      assert.equal(res.status, 200, await res.clone().text());
    });

    test('an assertion with iat more than 60 s in the future is refused as invalid_client', async () => {
      const res = await grant(await assertion({}, Math.floor(Date.now() / 1000) + 120));
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
    });

    test('an assertion used twice (same jti) is refused the second time', async () => {
      const once = await assertion({});
      assert.equal((await grant(once)).status, 200);
      const again = await grant(once);
      assert.equal(again.status, 401);
      assert.equal(((await again.json()) as { error: string }).error, 'invalid_client');
    });

    test('an assertion signed by another key is refused', async () => {
      const other = (await generateKeyPair('ES256')).privateKey;
      const now = Math.floor(Date.now() / 1000);
      const forged = await new SignJWT({ jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid: 'conformance-1' })
        .setIssuer(JWT_CLIENT)
        .setSubject(JWT_CLIENT)
        .setAudience(dev.issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(other);
      const res = await grant(forged);
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
    });
  });
  describe('FAPI 2 hardening: DPoP proofs (features.dpop on)', () => {
    const basic = `Basic ${Buffer.from(`${WEB}:${WEB_SECRET}`).toString('base64')}`;
    async function proof(key: CryptoKeyPair, claims: JWTPayload = {}, iat = Math.floor(Date.now() / 1000)) {
      return new SignJWT({ htm: 'POST', htu: `${dev.issuer}/token`, jti: randomUUID(), iat, ...claims })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(key.publicKey) })
        .sign(key.privateKey);
    }
    function token(body: Record<string, string>, dpop: string) {
      return fetch(`${dev.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic, dpop },
        body: new URLSearchParams(body).toString(),
      });
    }
    async function signedInCode(params: Record<string, string>) {
      const started = await startAuthorization(params);
      // A sign-in page unless the browser is signed in already; a first-party client gets no consent page.
      const end =
        started.page.status === 200 ? await signIn(browser, started.page, ALICE, atRedirect) : started.page;
      assert.equal(end.status, 303, end.html);
      const code = end.url.searchParams.get('code');
      assert.ok(code, end.url.href);
      return { code, verifier: started.verifier };
    }

    test('a code bound with dpop_jkt is refused with a proof of another key', async () => {
      const bound = await generateKeyPair('ES256');
      const other = await generateKeyPair('ES256');
      const jkt = await calculateJwkThumbprint(await exportJWK(bound.publicKey));
      const { code, verifier } = await signedInCode({ dpop_jkt: jkt });
      const fields = {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      };
      const res = await token(fields, await proof(other));
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_grant');
    });

    test('a code bound with dpop_jkt is redeemed with a proof of that key, as a DPoP token', async () => {
      const bound = await generateKeyPair('ES256');
      const jkt = await calculateJwkThumbprint(await exportJWK(bound.publicKey));
      const { code, verifier } = await signedInCode({ dpop_jkt: jkt });
      const fields = {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      };
      const res = await token(fields, await proof(bound));
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(((await res.json()) as { token_type: string }).token_type, 'DPoP');
    });

    test('a public client’s refresh token bound to a DPoP key is refused with a proof of another key', async () => {
      // RFC 9449 §5: only a public client's refresh token is bound to the DPoP key (a confidential
      // client's is bound to its client authentication), so this uses demo-app.
      const bound = await generateKeyPair('ES256');
      const verifier = oidc.randomPKCECodeVerifier();
      const redirect = `${dev.origin}/callback`;
      const url = new URL(`${dev.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: 'demo-app',
        response_type: 'code',
        redirect_uri: redirect,
        scope: 'openid offline_access',
        prompt: 'consent',
        state: 'dpop-refresh',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).toString();
      const toApp = (u: URL) => `${u.origin}${u.pathname}` === redirect;
      const end = await signIn(browser, await browser.navigate(url, toApp), ALICE, toApp);
      const code = end.url.searchParams.get('code');
      assert.ok(code, end.url.href);
      const publicToken = async (body: Record<string, string>, dpop: string) =>
        fetch(`${dev.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', dpop },
          body: new URLSearchParams({ client_id: 'demo-app', ...body }).toString(),
        });
      const first = await publicToken(
        { grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier },
        await proof(bound),
      );
      assert.equal(first.status, 200, await first.clone().text());
      const { refresh_token } = (await first.json()) as { refresh_token?: string };
      assert.ok(refresh_token, 'a refresh token was issued');
      const stolen = await publicToken(
        { grant_type: 'refresh_token', refresh_token },
        await proof(await generateKeyPair('ES256')),
      );
      assert.equal(stolen.status, 400);
      assert.equal(((await stolen.json()) as { error: string }).error, 'invalid_grant');
      const owner = await publicToken({ grant_type: 'refresh_token', refresh_token }, await proof(bound));
      assert.equal(owner.status, 200, await owner.clone().text());
    });

    test('a DPoP proof replayed (same jti) is refused the second time', async () => {
      const key = await generateKeyPair('ES256');
      const once = await proof(key);
      const cc = { grant_type: 'client_credentials' };
      const service = `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`;
      const send = () =>
        fetch(`${dev.issuer}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: service,
            dpop: once,
          },
          body: new URLSearchParams(cc).toString(),
        });
      assert.equal((await send()).status, 200);
      const again = await send();
      assert.equal(again.status, 400);
      // oidc-provider answers a replayed proof at the token endpoint as a refused grant.
      assert.equal(((await again.json()) as { error: string }).error, 'invalid_grant');
    });

    test('a DPoP proof for another URL or an old iat is refused', async () => {
      const key = await generateKeyPair('ES256');
      const service = `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`;
      for (const dpop of [
        await proof(key, { htu: `${dev.issuer}/elsewhere` }),
        await proof(key, {}, Math.floor(Date.now() / 1000) - 600),
      ]) {
        const res = await fetch(`${dev.issuer}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: service, dpop },
          body: 'grant_type=client_credentials',
        });
        assert.equal(res.status, 400);
        assert.equal(((await res.json()) as { error: string }).error, 'invalid_dpop_proof');
      }
    });
  });
});
