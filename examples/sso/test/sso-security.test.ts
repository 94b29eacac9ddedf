import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { type RealStack, startRealStack } from '../../shared/test/real-stack.ts';
import { CookieJar, passwordSignIn } from '../../shared/test/sign-in.ts';
import { createSsoExample } from '../src/index.ts';

/**
 * What the SSO applications refuse, over plain HTTP: forged or missing logout tokens, a sign-out
 * posted from another site, a callback nobody started. Each refusal leaves the session as it was.
 */
async function bind(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('the SSO applications refuse hostile requests', { timeout: 120_000 }, () => {
  let stack: RealStack;
  let sso: ReturnType<typeof createSsoExample>;
  let servers: [Server, Server] | undefined;
  let app1: string;
  const jar = new CookieJar();

  const get = async (url: string) => {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  };

  before(async () => {
    servers = [await bind(), await bind()];
    app1 = `http://127.0.0.1:${(servers[0].address() as AddressInfo).port}`;
    sso = createSsoExample({ servers });
    stack = await startRealStack(sso);
    await passwordSignIn(`${app1}/`, {
      publicUrl: stack.publicUrl,
      username: 'alice',
      password: 'alice-password',
      jar,
      until: (url) => url === `${app1}/`,
    });
  });
  after(async () => {
    await stack?.close();
    for (const server of servers ?? []) {
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a sign-in without a browser works and shows the user and roles', async () => {
    const page = await get(`${app1}/`);
    assert.equal(page.status, 200);
    assert.match(page.text, /Signed in to SSO App 1 as <strong id="username">alice<\/strong>/);
    assert.match(page.text, /<span id="roles">admin, user<\/span>/);
    assert.equal(sso.apps[0]!.sessions.size, 1);
  });

  test('a logout token signed by anyone but the identity provider is refused and ends nothing', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      jti: 'forged-1',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt', kid: 'attacker' })
      .setIssuer(stack.issuer)
      .setAudience('sso-app-1')
      .setSubject('anyone')
      .setIssuedAt()
      .sign(privateKey);
    const res = await fetch(`${app1}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: forged }).toString(),
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), {
      error: 'invalid_request',
      error_description: 'The logout token is not valid',
    });
    assert.equal(sso.apps[0]!.sessions.size, 1);
    assert.equal((await get(`${app1}/`)).status, 200);
  });

  test('a back-channel request without a logout token is refused', async () => {
    const res = await fetch(`${app1}/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'something=else',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      error: 'invalid_request',
      error_description: 'logout_token is required',
    });
    assert.equal(sso.apps[0]!.sessions.size, 1);
  });

  test('a sign-out posted from another site is refused and the session stays', async () => {
    const res = await fetch(`${app1}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), origin: 'http://evil.example' },
    });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /Cross-site sign-out refused/);
    assert.equal((await get(`${app1}/`)).status, 200);
  });

  test('a callback nobody started is refused', async () => {
    const res = await get(`${app1}/callback?code=stolen&state=guess`);
    assert.equal(res.status, 400);
    assert.match(res.text, /This sign-in has expired or was already used/);
  });

  test('signed out, the application sends the browser to sign in', async () => {
    const res = await fetch(`${app1}/`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/login');
  });
});
