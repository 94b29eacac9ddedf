import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loadConfig, silentLogger } from '@gatehouse/core';
import { openTestSql, openTestState, type TestSql, type TestState } from '@gatehouse/core/testing';
import {
  createIdp,
  type Idp,
  type IdpConfig,
  idpConfigSchema,
  idpMigrations,
  seedDevelopmentFixtures,
} from '@gatehouse/idp';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { generate } from 'otplib';
import { createGateway, type Gateway } from '../src/gateway.ts';
import { validateGatewayConfig } from '../src/validate-config.ts';
import { closeServer, type Echoed, startEcho, type Upstream } from './harness.ts';

/**
 * The gateway as the browser's OAuth client (BFF), end to end against a real identity provider
 * (PGlite in memory, the demo accounts, its hosted login page), reached through the gateway as in
 * `gatehouse dev`. A browser is played with fetch and a cookie jar: it only ever talks to the
 * gateway's origin and only ever holds the session id.
 */

const CLIENT_ID = 'gateway-bff';
/** A public client of its own for the /console pages (gateway.bff.clients). */
const PAGE_CLIENT_ID = 'console-app';
const MFA = 'urn:gatehouse:acr:mfa';
const CLIENT_SECRET = 'bff-client-secret-for-tests';
const SESSION_SECRET = 'a-session-secret-of-at-least-32-characters!';

let testSql: TestSql;
let testState: TestState;
let idp: Idp;
let idpServer: Server;
let gateway: Gateway;
let echo: Upstream;
let site: string;

/** A free loopback port: the gateway's public URL (its redirect URI) must be known before it starts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

before(async () => {
  testSql = await openTestSql('pglite', { migrations: [idpMigrations] });
  testState = await openTestState('memory');
  const { sql } = testSql;
  const { state } = testState;
  echo = await startEcho();
  const port = await freePort();
  site = `http://127.0.0.1:${port}`;

  idpServer = createServer((req, res) => idp.handler(req, res));
  await new Promise<void>((resolve) => idpServer.listen(0, '127.0.0.1', resolve));
  const idpUrl = `http://127.0.0.1:${(idpServer.address() as AddressInfo).port}`;
  const idpConfig = loadConfig<{ idp: IdpConfig }>({
    document: {
      idp: {
        clients: [
          {
            clientId: CLIENT_ID,
            clientSecret: CLIENT_SECRET,
            tokenEndpointAuthMethod: 'client_secret_basic',
            grantTypes: ['authorization_code', 'refresh_token'],
            redirectUris: [`${site}/_gatehouse/bff/callback`],
            postLogoutRedirectUris: [`${site}/`],
            scope: 'openid profile offline_access',
            firstParty: true,
          },
          {
            clientId: PAGE_CLIENT_ID,
            tokenEndpointAuthMethod: 'none',
            grantTypes: ['authorization_code'],
            redirectUris: [`${site}/_gatehouse/bff/callback`],
            postLogoutRedirectUris: [`${site}/`],
            scope: 'openid profile',
            firstParty: true,
          },
        ],
      },
    },
    sections: { idp: idpConfigSchema },
    env: {},
  }).idp;
  idp = await createIdp({ config: idpConfig, sql, state, logger: silentLogger(), publicUrl: site });
  await seedDevelopmentFixtures(idp);

  const echoRoute = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
    id,
    match: { path },
    upstreams: [echo.url],
    policy: 'authenticated',
    ...extra,
  });
  gateway = await createGateway({
    config: {
      auth: { issuer: `${site}/auth`, audiences: [site], jwksUri: `${idpUrl}/auth/jwks` },
      bff: {
        enabled: true,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        sessionSecret: SESSION_SECRET,
        // Longer than any access token: every use refreshes, so refresh is exercised by every test.
        refreshBeforeExpirySec: 3600,
        clients: [{ clientId: PAGE_CLIENT_ID }],
      },
      routes: [
        { id: 'idp', match: { path: '/auth' }, upstreams: [idpUrl], policy: 'public', forwardToken: true },
        echoRoute('app', '/app'),
        echoRoute('admin', '/admin', { policy: { roles: ['admin'] } }),
        echoRoute('support', '/support', { policy: { roles: ['support'] } }),
        echoRoute('api', '/api', { forwardToken: true }),
        echoRoute('vault', '/vault', { stepUp: { acr: [MFA] } }),
        echoRoute('console', '/console', { browser: true, bffClient: PAGE_CLIENT_ID, forwardToken: true }),
        echoRoute('console-keys', '/console-keys', {
          browser: true,
          bffClient: PAGE_CLIENT_ID,
          stepUp: { acr: [MFA] },
        }),
      ],
    },
    state,
    logger: silentLogger(),
    publicUrl: site,
  });
  await gateway.listen(port, '127.0.0.1');
});

after(async () => {
  await gateway?.close();
  idpServer?.closeAllConnections();
  if (idpServer) await closeServer(idpServer);
  await idp?.close();
  await echo?.close();
  await testState?.cleanup();
  await testSql?.cleanup();
});

/** One browser: cookies of the gateway's origin (the identity provider is behind it, on /auth). */
function browser() {
  const jar = new Map<string, string>();
  const setCookies: string[] = [];
  const take = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      setCookies.push(line);
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    jar,
    setCookies,
    async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
      const headers = new Headers(init.headers);
      if (jar.size > 0) headers.set('cookie', cookie());
      const res = await fetch(new URL(url, site), { ...init, headers, redirect: 'manual' });
      take(res);
      return res;
    },
  };
}
type Browser = ReturnType<typeof browser>;

/** Start a login at the gateway; resolves to the identity provider's login page URL and HTML. */
async function startLogin(b: Browser, returnTo: string): Promise<{ page: URL; html: string; state: string }> {
  const start = await b.fetch(`/_gatehouse/bff/login?return_to=${encodeURIComponent(returnTo)}`);
  assert.equal(start.status, 303, await start.clone().text());
  const authorize = new URL(start.headers.get('location')!);
  const state = authorize.searchParams.get('state')!;
  let next = authorize;
  for (let i = 0; i < 5; i++) {
    const res = await b.fetch(next);
    if (res.status === 200) return { page: next, html: await res.text(), state };
    assert.equal(res.status, 303, await res.text());
    next = new URL(res.headers.get('location')!, site);
  }
  throw new Error('no login page');
}

/** Post a hosted form (login or consent) and follow the identity provider's redirects. */
async function submit(b: Browser, page: URL, html: string, fields: Record<string, string>): Promise<URL> {
  const action = new URL(
    /<form method="post" action="([^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&'),
    page,
  );
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  let res = await b.fetch(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: site },
    body: new URLSearchParams({ ...(csrf ? { csrf } : {}), ...fields }).toString(),
  });
  for (let i = 0; i < 8; i++) {
    if (res.status === 200) {
      // A further page (consent): accept it.
      const next = await res.text();
      return submit(b, new URL(res.url || page), next, {});
    }
    assert.equal(res.status, 303, await res.text());
    const location = new URL(res.headers.get('location')!, site);
    if (location.pathname === '/_gatehouse/bff/callback') return location;
    res = await b.fetch(location);
  }
  throw new Error('too many redirects');
}

/** A browser logged in as `username` through the hosted login page; resolves to where it landed. */
async function login(username = 'alice', returnTo = '/app/home'): Promise<{ b: Browser; landing: Response }> {
  const b = browser();
  const { page, html } = await startLogin(b, returnTo);
  const callback = await submit(b, page, html, { username, password: `${username}-password` });
  const landing = await b.fetch(callback);
  return { b, landing };
}

const seenBy = async (res: Response) => (await res.json()) as Echoed;

describe('BFF login through the hosted login page', () => {
  test('the callback sets an HttpOnly SameSite=Lax session cookie and returns to return_to', async () => {
    const { b, landing } = await login('alice', '/app/orders?page=2');
    assert.equal(landing.status, 303);
    assert.equal(landing.headers.get('location'), '/app/orders?page=2');
    const session = b.setCookies.find((c) => c.startsWith('gatehouse_bff=') && !/Max-Age=0/.test(c));
    assert.match(
      session!,
      /^gatehouse_bff=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=28800$/,
    );
    assert.equal(b.jar.has('gatehouse_bff_login'), false, 'the login cookie is cleared');
  });

  test('with only the session cookie, a protected route gets the user identity', async () => {
    const { b } = await login('alice');
    const res = await b.fetch('/app/home');
    assert.equal(res.status, 200);
    const seen = await seenBy(res);
    assert.equal(seen.headers['x-user-name'], 'alice');
    assert.equal(seen.headers['x-client-id'], CLIENT_ID);
    assert.equal(seen.headers['x-user-roles'], 'admin,user');
    assert.equal(seen.headers['authorization'], undefined);
    assert.doesNotMatch(String(seen.headers['cookie'] ?? ''), /gatehouse_bff/);
  });

  test('route policies apply to the session as to a bearer token', async () => {
    const alice = await login('alice');
    assert.equal((await alice.b.fetch('/admin')).status, 200);
    const bob = await login('bob');
    const denied = await bob.b.fetch('/admin');
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { error: string }).error, 'SDK_INSUFFICIENT_ROLE');
  });

  test('a route that forwards the token gets the stored access token, refreshed before expiry', async () => {
    const { b } = await login('alice');
    const first = (await seenBy(await b.fetch('/api/x'))).headers['authorization'] as string;
    const second = (await seenBy(await b.fetch('/api/x'))).headers['authorization'] as string;
    assert.match(first, /^Bearer /);
    const [a1, a2] = [first.slice(7), second.slice(7)];
    assert.equal(decodeProtectedHeader(a1).typ, 'at+jwt');
    assert.equal(decodeJwt(a1)['username'], 'alice');
    assert.notEqual(decodeJwt(a1).jti, decodeJwt(a2).jti, 'a new token after the refresh');
  });

  test('concurrent requests share one refresh: the rotated refresh token is never reused', async () => {
    const { b } = await login('alice');
    const answers = await Promise.all(Array.from({ length: 6 }, () => b.fetch('/app/x')));
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    // A reused refresh token would have revoked the grant: the session would be gone now.
    assert.equal((await b.fetch('/app/x')).status, 200);
  });

  test('an unknown session cookie is refused with 401', async () => {
    const res = await fetch(`${site}/app/x`, { headers: { cookie: `gatehouse_bff=${'A'.repeat(43)}` } });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_BFF_SESSION_EXPIRED');
  });
});

describe('BFF login safety', () => {
  const refused = [
    ['another origin', 'https://evil.example/'],
    ['scheme-relative', '//evil.example/x'],
    ['backslash', '/\\evil.example'],
    ['encoded slashes', '/%2F%2Fevil.example'],
    ['a tab', '/\t/evil.example'],
    ['javascript', 'javascript:alert(1)'],
    ['not a path', 'app'],
  ] as const;
  for (const [name, value] of refused) {
    test(`return_to as ${name} is refused`, async () => {
      const res = await fetch(`${site}/_gatehouse/bff/login?return_to=${encodeURIComponent(value)}`, {
        redirect: 'manual',
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: string }).error, 'GW_BFF_RETURN_TO_INVALID');
      assert.equal(res.headers.get('location'), null);
    });
  }

  test('return_to given twice is refused', async () => {
    const res = await fetch(`${site}/_gatehouse/bff/login?return_to=/a&return_to=//evil.example`, {
      redirect: 'manual',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_BFF_RETURN_TO_INVALID');
  });

  test('a callback brought by another browser than the one that started the login is refused', async () => {
    const victim = browser();
    const attacker = browser();
    const { page, html } = await startLogin(attacker, '/app');
    const callback = await submit(attacker, page, html, { username: 'bob', password: 'bob-password' });
    const res = await victim.fetch(callback);
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_BFF_STATE_INVALID');
    assert.equal(victim.jar.has('gatehouse_bff'), false);
  });

  test('a callback used twice logs in only once', async () => {
    const b = browser();
    const { page, html, state } = await startLogin(b, '/app');
    const callback = await submit(b, page, html, { username: 'alice', password: 'alice-password' });
    assert.equal((await b.fetch(callback)).status, 303);
    const again = await fetch(callback, {
      redirect: 'manual',
      headers: { cookie: `gatehouse_bff_login=${state}` },
    });
    assert.equal(again.status, 400);
    assert.equal(((await again.json()) as { error: string }).error, 'GW_BFF_STATE_INVALID');
  });
});

describe('BFF logout', () => {
  test('logout ends the session here and sends the browser to the identity provider to end its own', async () => {
    const { b } = await login('alice');
    const sessionCookie = `gatehouse_bff=${b.jar.get('gatehouse_bff')}`;
    const res = await b.fetch('/_gatehouse/bff/logout', { method: 'POST', headers: { origin: site } });
    assert.equal(res.status, 303);
    const endSession = new URL(res.headers.get('location')!);
    assert.equal(endSession.origin, site);
    assert.equal(endSession.pathname, '/auth/session/end');
    assert.equal(endSession.searchParams.get('post_logout_redirect_uri'), `${site}/`);
    assert.equal(decodeJwt(endSession.searchParams.get('id_token_hint')!)['aud'], CLIENT_ID);
    assert.equal(b.jar.has('gatehouse_bff'), false);
    const after = await fetch(`${site}/app/x`, { headers: { cookie: sessionCookie } });
    assert.equal(after.status, 401);
    assert.equal(((await after.json()) as { error: string }).error, 'GW_BFF_SESSION_EXPIRED');
  });

  test('a logout posted from another site is refused and the session stays', async () => {
    const { b } = await login('alice');
    const res = await b.fetch('/_gatehouse/bff/logout', {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_BFF_CROSS_SITE');
    assert.equal((await b.fetch('/app/x')).status, 200);
  });

  test('logout by GET is not allowed', async () => {
    const res = await fetch(`${site}/_gatehouse/bff/logout`, { redirect: 'manual' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  });
});

describe('BFF configuration', () => {
  test('enabling the BFF needs the client id, client secret and session secret', () => {
    assert.throws(
      () => validateGatewayConfig({ bff: { enabled: true, clientId: 'x' } }),
      (err: Error & { problems?: string[] }) => {
        assert.deepEqual(err.problems, [
          'gateway.bff.clientSecret is required when gateway.bff.enabled is true',
          'gateway.bff.sessionSecret is required when gateway.bff.enabled is true',
        ]);
        return true;
      },
    );
  });

  test('a short session secret is refused', () => {
    assert.throws(() =>
      validateGatewayConfig({
        bff: { enabled: true, clientId: 'x', clientSecret: CLIENT_SECRET, sessionSecret: 'short' },
      }),
    );
  });
});

describe('step-up on a browser route (RFC 9470)', () => {
  /** Post the first form of a hosted page with `fields` (its CSRF token added). */
  async function postForm(b: Browser, page: URL, html: string, fields: Record<string, string>) {
    const action = new URL(
      /<form method="post" action="([^"]+)"/.exec(html)![1]!.replaceAll('&amp;', '&'),
      page,
    );
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    return b.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: site },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
  }

  test('a password session is sent to sign in again with a second factor, and comes back to the same path', async () => {
    const { b } = await login('bob');
    const refused = await b.fetch('/vault/statement?month=3');
    assert.equal(refused.status, 303);
    const authorize = new URL(refused.headers.get('location')!);
    assert.equal(authorize.pathname, '/auth/auth');
    assert.equal(authorize.searchParams.get('acr_values'), MFA);

    // The identity provider does not reuse the password session: the login page again.
    let next = authorize;
    let res = await b.fetch(next);
    for (let i = 0; i < 5 && res.status === 303; i++) {
      next = new URL(res.headers.get('location')!, site);
      res = await b.fetch(next);
    }
    assert.equal(res.status, 200);
    const loginHtml = await res.text();
    assert.match(loginHtml, /<h1>Sign in<\/h1>/);

    // The password, then (bob has no second factor) an authenticator set up at the MFA level.
    const setup = await postForm(b, next, loginHtml, { username: 'bob', password: 'bob-password' });
    assert.equal(setup.status, 200);
    const setupHtml = await setup.text();
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(setupHtml)![1]!;
    const codes = await postForm(b, next, setupHtml, { code: await generate({ secret }) });
    assert.equal(codes.status, 200);
    res = await postForm(b, next, await codes.text(), {});
    for (let i = 0; i < 8; i++) {
      // The consent page the BFF's prompt=consent asks for (offline_access): accepted.
      if (res.status === 200) res = await postForm(b, next, await res.text(), {});
      assert.equal(res.status, 303);
      const location = new URL(res.headers.get('location')!, site);
      res = await b.fetch(location);
      if (location.pathname === '/_gatehouse/bff/callback') break;
    }
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/vault/statement?month=3');
    const passed = await b.fetch('/vault/statement?month=3');
    assert.equal(passed.status, 200);
  });

  test('a POST on the browser session and a password-only bearer token get the 401 challenge', async () => {
    const { b } = await login('alice');
    const post = await b.fetch('/vault/transfer', { method: 'POST', headers: { origin: site } });
    assert.equal(post.status, 401);
    assert.equal(((await post.json()) as { error: string }).error, 'GW_STEP_UP_REQUIRED');
    assert.match(post.headers.get('www-authenticate')!, /error="insufficient_user_authentication"/);
  });
});

describe('a route with a public client of its own (bffClient)', () => {
  /** Follow the gateway's and the provider's redirects from `start` until a page (200) is shown. */
  async function follow(b: Browser, start: URL): Promise<{ page: URL; html: string }> {
    let next = start;
    for (let i = 0; i < 6; i++) {
      const res = await b.fetch(next);
      if (res.status === 200) return { page: next, html: await res.text() };
      assert.ok(res.status === 302 || res.status === 303, `${next.pathname}: ${res.status}`);
      next = new URL(res.headers.get('location')!, site);
    }
    throw new Error('no page');
  }

  test('a page of the route signs the person in as its own client, with PKCE, in a session of its own', async () => {
    const { b } = await login('alice');
    const html = { accept: 'text/html' };
    const refused = await b.fetch('/console/users?page=2', { headers: html });
    assert.equal(refused.status, 302, 'the gateway client session is not used on this route');
    const loginAt = new URL(refused.headers.get('location')!, site);
    assert.equal(loginAt.searchParams.get('client'), PAGE_CLIENT_ID);
    const start = await b.fetch(loginAt);
    assert.equal(start.status, 303);
    const authorize = new URL(start.headers.get('location')!);
    assert.equal(authorize.searchParams.get('client_id'), PAGE_CLIENT_ID);
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authorize.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(authorize.searchParams.get('scope'), 'openid profile');
    // The provider's session of the first sign-in: no login page, straight back to the callback.
    let next = authorize;
    let res = await b.fetch(next);
    for (let i = 0; i < 6 && next.pathname !== '/_gatehouse/bff/callback'; i++) {
      assert.equal(res.status, 303, await res.clone().text());
      next = new URL(res.headers.get('location')!, site);
      res = await b.fetch(next);
    }
    assert.equal(next.pathname, '/_gatehouse/bff/callback');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/console/users?page=2');
    assert.ok(b.jar.has(`gatehouse_bff_${PAGE_CLIENT_ID}`), 'a cookie of its own');

    const seen = await seenBy(await b.fetch('/console/users?page=2'));
    assert.equal(seen.headers['x-client-id'], PAGE_CLIENT_ID);
    const token = String(seen.headers['authorization']).slice(7);
    assert.equal(decodeJwt(token)['client_id'], PAGE_CLIENT_ID);
    assert.doesNotMatch(String(seen.headers['cookie'] ?? ''), /gatehouse_bff/);
    // The other routes keep the gateway's own client: one client's token never goes to another's routes.
    const app = await seenBy(await b.fetch('/app/home'));
    assert.equal(app.headers['x-client-id'], CLIENT_ID);

    // Signing out ends both sessions.
    const out = await b.fetch('/_gatehouse/bff/logout', { method: 'POST', headers: { origin: site } });
    assert.equal(out.status, 303);
    assert.equal(b.jar.has(`gatehouse_bff_${PAGE_CLIENT_ID}`), false);
    assert.equal(b.jar.has('gatehouse_bff'), false);
    assert.equal((await b.fetch('/console/users')).status, 401);
  });

  test("a step-up on such a route signs in again as the route's client at the level it needs", async () => {
    const b = browser();
    const start = await b.fetch(`/_gatehouse/bff/login?return_to=%2Fconsole-keys&client=${PAGE_CLIENT_ID}`);
    const { page, html } = await follow(b, new URL(start.headers.get('location')!));
    const callback = await submit(b, page, html, { username: 'alice', password: 'alice-password' });
    assert.equal((await b.fetch(callback)).status, 303);
    const refused = await b.fetch('/console-keys', { headers: { accept: 'text/html' } });
    assert.equal(refused.status, 303);
    const authorize = new URL(refused.headers.get('location')!);
    assert.equal(authorize.searchParams.get('client_id'), PAGE_CLIENT_ID);
    assert.equal(authorize.searchParams.get('acr_values'), MFA);
  });

  test('a login for a client the gateway does not know is refused', async () => {
    const res = await browser().fetch('/_gatehouse/bff/login?return_to=%2F&client=someone-else');
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_BFF_CLIENT_UNKNOWN');
  });

  test('bffClient must name one of gateway.bff.clients, on a route for browsers', () => {
    const bff = {
      enabled: true,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      sessionSecret: SESSION_SECRET,
    };
    const route = { id: 'c', match: { path: '/c' }, upstreams: ['http://127.0.0.1:1'] };
    assert.throws(
      () => validateGatewayConfig({ bff, routes: [{ ...route, browser: true, bffClient: 'nobody' }] }),
      /names bffClient nobody, which is not in gateway.bff.clients/,
    );
    assert.throws(
      () =>
        validateGatewayConfig({
          bff: { ...bff, clients: [{ clientId: 'x' }] },
          routes: [{ ...route, bffClient: 'x' }],
        }),
      /without browser: true/,
    );
    assert.throws(
      () => validateGatewayConfig({ bff: { ...bff, clients: [{ clientId: CLIENT_ID }] } }),
      /client id is repeated/,
    );
  });
});
