import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { type AccountsIdp, browserCookies, startAccountsIdp } from './accounts-harness.ts';

const redirectUri = 'http://localhost:8080/callback';

describe('hosted login and consent pages', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false }, theme: ':root { --gh-accent: #7b1fa2; }' },
    });
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'third-party-app',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://app.example/cb'],
        postLogoutRedirectUris: [],
        scope: 'openid profile email',
        roles: [],
        firstParty: false,
      }),
      'admin',
    );
  });
  after(() => t?.close());

  /** Start an authorization request; resolves to the interaction page URL, its HTML and the browser. */
  /** An authorization request up to the sign-in page: in a fresh browser unless one is given. */
  async function start(
    clientId = 'demo-app',
    redirect = redirectUri,
    scope = 'openid profile',
    more: { browser?: ReturnType<typeof browserCookies>; params?: Record<string, string> } = {},
  ) {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${t.origin}/auth/auth`);
    url.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: redirect,
      scope,
      state: 'st-1',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...more.params,
    }).toString();
    const browser = more.browser ?? browserCookies();
    const res = await fetch(url, {
      redirect: 'manual',
      headers: more.browser ? { cookie: browser.header() } : {},
    });
    browser.take(res);
    assert.equal(res.status, 303);
    const page = new URL(res.headers.get('location')!, t.origin);
    const shown = await fetch(page, { headers: { cookie: browser.header() } });
    const html = await shown.text();
    assert.equal(shown.status, 200, html);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    return { page, html, shown, csrf, browser, verifier };
  }

  function submit(
    target: URL | string,
    browser: ReturnType<typeof browserCookies>,
    fields: Record<string, string>,
    origin = t.origin,
  ) {
    return fetch(target, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: browser.header(), origin },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Follow oidc-provider's redirects until one leaves the identity provider. */
  async function follow(res: Response, browser: ReturnType<typeof browserCookies>): Promise<URL> {
    let current = res;
    for (let i = 0; i < 5; i++) {
      browser.take(current);
      assert.equal(current.status, 303, await current.clone().text());
      const next = new URL(current.headers.get('location')!, t.origin);
      if (next.origin !== t.origin) return next;
      if (next.pathname.startsWith('/auth/interaction/')) return next;
      current = await fetch(next, { redirect: 'manual', headers: { cookie: browser.header() } });
    }
    throw new Error('too many redirects');
  }

  test('the login page is accessible: lang, labels, autocomplete, autofocus, no script, strict CSP', async () => {
    const { html, shown } = await start();
    assert.match(html, /<html lang="en">/);
    assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
    assert.match(html, /<label for="username">Username<\/label>/);
    assert.match(
      html,
      /<input id="username" name="username" type="text" autocomplete="username"[^>]* autofocus>/,
    );
    assert.match(html, /<label for="password">Password<\/label>/);
    assert.match(
      html,
      /<input id="password" name="password" type="password" autocomplete="current-password"/,
    );
    assert.doesNotMatch(html, /<script|https?:\/\/[^"]*\.(css|js)/);
    assert.match(
      shown.headers.get('content-security-policy')!,
      /^default-src 'none'; style-src 'nonce-[^']+';/,
    );
    assert.equal(shown.headers.get('x-frame-options'), 'DENY');
    assert.equal(shown.headers.get('cache-control'), 'no-store');
    // The operator's theme comes after the defaults, inside the nonced style block.
    assert.match(html, /--gh-accent: #0b57d0;[\s\S]*:root \{ --gh-accent: #7b1fa2; \}<\/style>/);
  });

  test('signing in as alice on the page completes the code flow of a first-party client without consent', async () => {
    const { page, csrf, browser, verifier } = await start();
    const res = await submit(`${page}/login`, browser, {
      csrf,
      username: 'alice',
      password: 'alice-password',
    });
    const callback = await follow(res, browser);
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
    assert.equal(callback.searchParams.get('state'), 'st-1');
    const code = callback.searchParams.get('code')!;
    const token = await fetch(`${t.origin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        client_id: 'demo-app',
        code_verifier: verifier,
      }),
    });
    assert.equal(token.status, 200);
    const body = (await token.json()) as { access_token: string };
    const claims = decodeJwt(body.access_token);
    const alice = await t.accounts.getByUsername('alice');
    assert.equal(claims.sub, alice!.id);
    assert.deepEqual(claims['roles'], ['admin', 'user']);
    assert.equal(claims['username'], 'alice');
  });

  test('a first-party client asking prompt=consent for offline_access gets no consent page and a refresh token', async () => {
    const { page, csrf, browser, verifier } = await start('demo-app', redirectUri, 'openid offline_access', {
      params: { prompt: 'consent' },
    });
    const res = await submit(`${page}/login`, browser, {
      csrf,
      username: 'alice',
      password: 'alice-password',
    });
    const consentStep = await follow(res, browser);
    assert.match(consentStep.pathname, /^\/auth\/interaction\//);
    const shown = await fetch(consentStep, { redirect: 'manual', headers: { cookie: browser.header() } });
    assert.equal(shown.status, 303, 'granted without a page');
    const callback = await follow(shown, browser);
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
    const token = await fetch(`${t.origin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: redirectUri,
        client_id: 'demo-app',
        code_verifier: verifier,
      }),
    });
    assert.equal(token.status, 200);
    const body = (await token.json()) as { refresh_token?: string; scope: string };
    assert.equal(body.scope, 'openid offline_access');
    assert.equal(typeof body.refresh_token, 'string');
  });

  test('a third-party client asking prompt=consent still sees the consent page', async () => {
    const { page, csrf, browser } = await start('third-party-app', 'https://app.example/cb', 'openid', {
      params: { prompt: 'consent' },
    });
    const res = await submit(`${page}/login`, browser, {
      csrf,
      username: 'alice',
      password: 'alice-password',
    });
    const consentStep = await follow(res, browser);
    const shown = await fetch(consentStep, { redirect: 'manual', headers: { cookie: browser.header() } });
    assert.equal(shown.status, 200);
    assert.match(await shown.text(), /\/confirm"/);
  });

  test('a wrong password and an unknown user show the same message with status 401', async () => {
    const { page, csrf, browser } = await start();
    const wrong = await submit(`${page}/login`, browser, {
      csrf,
      username: 'alice',
      password: 'nope-nope-nope',
    });
    const unknown = await submit(`${page}/login`, browser, {
      csrf,
      username: 'zed',
      password: 'nope-nope-nope',
    });
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    const message = (html: string) =>
      /<p class="error" id="login-error" role="alert">([^<]*)<\/p>/.exec(html)?.[1];
    const a = message(await wrong.text());
    assert.equal(a, 'Username or password is wrong');
    assert.equal(message(await unknown.text()), a);
  });

  test('a login post without the page token is refused and the interaction stays open', async () => {
    const { page, browser } = await start();
    const res = await submit(`${page}/login`, browser, { username: 'alice', password: 'alice-password' });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /IDP_CSRF_REJECTED/);
    const again = await fetch(page, { headers: { cookie: browser.header() } });
    assert.equal(again.status, 200);
    assert.match(await again.text(), /<h1>Sign in<\/h1>/);
  });

  test('a login post from another origin is refused even with the token', async () => {
    const { page, csrf, browser } = await start();
    const res = await submit(
      `${page}/login`,
      browser,
      { csrf, username: 'alice', password: 'alice-password' },
      'https://evil.example',
    );
    assert.equal(res.status, 403);
    assert.match(await res.text(), /IDP_CSRF_REJECTED/);
  });

  test('a return-URL field (open-redirect attempt) is an unknown field: 400, nothing happens', async () => {
    const { page, csrf, browser } = await start();
    const res = await submit(`${page}/login`, browser, {
      csrf,
      username: 'alice',
      password: 'alice-password',
      returnTo: 'https://evil.example/',
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /IDP_FIELD_UNKNOWN/);
  });

  test('an oversized login form is 413 GH_BODY_TOO_LARGE and the interaction stays open', async () => {
    const { page, csrf, browser } = await start();
    const res = await submit(`${page}/login`, browser, {
      csrf,
      username: 'alice',
      password: 'p'.repeat(20_000),
    });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /GH_BODY_TOO_LARGE/);
    const again = await fetch(page, { headers: { cookie: browser.header() } });
    assert.equal(again.status, 200);
  });

  test('a NUL byte in the username on the login page is an ordinary wrong login, not a storage error', async () => {
    const { page, csrf, browser } = await start();
    const res = await submit(`${page}/login`, browser, {
      csrf,
      username: 'ali\u0000ce',
      password: 'alice-password',
    });
    assert.equal(res.status, 401);
    assert.match(await res.text(), /Username or password is wrong/);
  });

  test("a bad login form for an interaction that is not this browser's is answered as a missing interaction", async () => {
    const { page, csrf } = await start();
    const res = await submit(`${page}/login`, browserCookies(), {
      csrf,
      username: 'alice',
      password: 'alice-password',
      returnTo: 'https://evil.example/',
    });
    assert.equal(res.status, 400);
    const html = await res.text();
    assert.match(html, /IDP_INTERACTION_NOT_FOUND/);
    assert.doesNotMatch(html, /IDP_FIELD_UNKNOWN/);
  });

  test('a login form with a very long username re-shows the form with 400, not a crash', async () => {
    const { page, csrf, browser } = await start();
    const res = await submit(`${page}/login`, browser, {
      csrf,
      username: 'a'.repeat(500),
      password: 'whatever-it-is',
    });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /The username or password is too long/);
  });

  test('an interaction cookie with an altered value or signature is ignored: an error page, not a form', async () => {
    const { page, browser } = await start();
    const cookies = browser.header();
    assert.match(cookies, /(^|; )_interaction=[^;]+/);
    assert.match(cookies, /(^|; )_interaction\.sig=[^;]+/);
    // One character changed in the value (the signature no longer matches), then in the signature.
    const flip = (v: string) => (v.endsWith('A') ? `${v.slice(0, -1)}B` : `${v.slice(0, -1)}A`);
    for (const name of ['_interaction', '_interaction.sig']) {
      const pattern = new RegExp(`(^|; )(${name.replace('.', '\\.')})=([^;]+)`);
      const altered = cookies.replace(
        pattern,
        (_m, sep: string, n: string, v: string) => `${sep}${n}=${flip(v)}`,
      );
      assert.notEqual(altered, cookies);
      const res = await fetch(page, { headers: { cookie: altered } });
      assert.equal(res.status, 400, name);
      const html = await res.text();
      assert.match(html, /IDP_INTERACTION_NOT_FOUND/);
      assert.doesNotMatch(html, /<form/);
    }
    // The untouched cookies still open the page.
    assert.equal((await fetch(page, { headers: { cookie: cookies } })).status, 200);
  });

  test('an interaction page without its browser cookie is an error page, not a form', async () => {
    const { page } = await start();
    const res = await fetch(page);
    assert.equal(res.status, 400);
    const html = await res.text();
    assert.match(html, /IDP_INTERACTION_NOT_FOUND/);
    assert.doesNotMatch(html, /<form/);
  });

  test('an unregistered redirect_uri shows an error page and never redirects', async () => {
    const url = new URL(`${t.origin}/auth/auth`);
    url.search = new URLSearchParams({
      client_id: 'demo-app',
      response_type: 'code',
      redirect_uri: 'https://evil.example/cb',
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    const html = await res.text();
    assert.match(html, /<html lang="en">/);
    assert.match(html, /Error code: <code>invalid_redirect_uri<\/code>/);
    assert.doesNotMatch(html, /evil\.example/);
  });

  test('a third-party client gets the consent page after login, and Allow completes the flow', async () => {
    const { page, csrf, browser } = await start('third-party-app', 'https://app.example/cb', 'openid email');
    const res = await submit(`${page}/login`, browser, { csrf, username: 'bob', password: 'bob-password' });
    const consentUrl = await follow(res, browser);
    assert.match(consentUrl.pathname, /^\/auth\/interaction\//);
    const consent = await fetch(consentUrl, { headers: { cookie: browser.header() } });
    const html = await consent.text();
    assert.equal(consent.status, 200);
    assert.match(html, /<h1>Allow access\?<\/h1>/);
    assert.match(html, /See your email address/);
    const token = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const allowed = await submit(`${consentUrl}/confirm`, browser, { csrf: token });
    const callback = await follow(allowed, browser);
    assert.equal(callback.origin, 'https://app.example');
    assert.ok(callback.searchParams.get('code'));
  });

  test('the RP-initiated logout page has the hosted look, its own form and no script', async () => {
    const { page, csrf, browser } = await start();
    await follow(
      await submit(`${page}/login`, browser, { csrf, username: 'bob', password: 'bob-password' }),
      browser,
    );
    const res = await fetch(`${t.origin}/auth/session/end?client_id=demo-app`, {
      headers: { cookie: browser.header() },
    });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<h1>Sign out\?<\/h1>/);
    assert.match(html, /id="op.logoutForm"/);
    assert.match(html, /<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>/);
    assert.doesNotMatch(html, /<script/);
    assert.match(res.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
  });

  test('a sign-in form submitted twice completes once: the second post finds the interaction answered', async () => {
    const { page, csrf, browser } = await start();
    const fields = { csrf, username: 'alice', password: 'alice-password' };
    const first = await submit(`${page}/login`, browser, fields);
    assert.equal(first.status, 303);
    assert.equal(first.headers.get('content-length'), '0');
    const resume = new URL(first.headers.get('location')!, t.origin);
    assert.equal(resume.pathname, `/auth/auth/${page.pathname.split('/').pop()}`);
    // The browser follows the redirect: the interaction is consumed, a second post is refused.
    const callback = await follow(first, browser);
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
    const second = await submit(`${page}/login`, browser, fields);
    assert.equal(second.status, 400);
    assert.match(await second.text(), /IDP_INTERACTION_NOT_FOUND/);
  });

  test('signing in again (prompt=login) in a browser that already has a session completes the flow', async () => {
    const first = await start();
    await follow(
      await submit(`${first.page}/login`, first.browser, {
        csrf: first.csrf,
        username: 'alice',
        password: 'alice-password',
      }),
      first.browser,
    );
    const { page, html, csrf, browser } = await start('demo-app', redirectUri, 'openid profile', {
      browser: first.browser,
      params: { prompt: 'login', state: 'st-2' },
    });
    assert.match(html, /type="password"/);
    const login = await submit(`${page}/login`, browser, {
      csrf,
      username: 'alice',
      password: 'alice-password',
    });
    const callback = await follow(login, browser);
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
    assert.equal(callback.searchParams.get('state'), 'st-2');
    assert.ok(callback.searchParams.get('code'));
  });

  test('Cancel ends the request with access_denied at the client', async () => {
    const { page, csrf, browser } = await start();
    const res = await submit(`${page}/abort`, browser, { csrf });
    const callback = await follow(res, browser);
    assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);
    assert.equal(callback.searchParams.get('error'), 'access_denied');
  });
});
