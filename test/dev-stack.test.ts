// `gatehouse dev` (what `npm start` runs) end to end, as a newcomer would use it: a real process on
// a free port with a fresh data folder, driven over HTTP, stopped with SIGTERM and started again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { freePort, type Running, startDev, stop } from './support/dev-process.ts';
import { userAccessToken } from './support/user-token.ts';

async function clientCredentialsToken(
  origin: string,
  credentials = 'demo-service:demo-service-secret',
): Promise<string> {
  const res = await fetch(`${origin}/auth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(credentials).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
  assert.equal(body.token_type, 'Bearer');
  return body.access_token;
}

describe('gatehouse dev', { timeout: 240_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-dev-stack-'));
  let origin = '';
  let env: Record<string, string> = {};
  let running: Running;
  let firstKid = '';
  let firstToken = '';
  let sessionCookie = '';

  before(async () => {
    const [port, app1, app2] = [await freePort(), await freePort(), await freePort()];
    origin = `http://localhost:${port}`;
    env = {
      GATEHOUSE_SERVER__PORT: String(port),
      GATEHOUSE_SERVER__PUBLIC_URL: origin,
      GATEHOUSE_STORAGE__DATA_DIR: dataDir,
      GATEHOUSE_SSO_APP1_PORT: String(app1),
      GATEHOUSE_SSO_APP2_PORT: String(app2),
    };
    running = await startDev(env, origin);
  });

  after(async () => {
    if (running.child.exitCode === null) await stop(running);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('prints the URLs and the demo credentials', () => {
    const out = running.output();
    assert.ok(out.includes(`issuer       ${origin}/auth`), out);
    assert.ok(out.includes('alice / alice-password'), out);
    assert.ok(out.includes('demo-service / demo-service-secret'), out);
  });

  test('discovery names the issuer on the gateway origin', async () => {
    const res = await fetch(`${origin}/auth/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, `${origin}/auth`);
    assert.equal(doc.jwks_uri, `${origin}/auth/jwks`);
    assert.equal(doc.token_endpoint, `${origin}/auth/token`);
  });

  test('client credentials give a JWT access token (typ at+jwt, ES256)', async () => {
    firstToken = await clientCredentialsToken(origin);
    const header = decodeProtectedHeader(firstToken);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    firstKid = String(header.kid);
    const claims = decodeJwt(firstToken);
    assert.equal(claims.iss, `${origin}/auth`);
    assert.equal(claims.sub, 'demo-service');
    assert.equal(claims.client_id, 'demo-service');
    assert.equal(claims.aud, origin);
    assert.equal(typeof claims.jti, 'string');
  });

  test('GET /echo with the token is forwarded with the identity headers the gateway set', async () => {
    const res = await fetch(`${origin}/echo`, {
      headers: { authorization: `Bearer ${firstToken}`, 'x-user-id': 'mallory', 'x-user-roles': 'admin' },
    });
    assert.equal(res.status, 200);
    const { headers } = (await res.json()) as { headers: Record<string, string> };
    assert.equal(headers['x-user-id'], 'demo-service');
    assert.equal(headers['x-client-id'], 'demo-service');
    assert.equal(headers['x-user-roles'], 'service');
    assert.equal(headers.authorization, undefined);
    assert.match(headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  });

  test('GET /echo without a token is 401 with a Bearer challenge', async () => {
    const res = await fetch(`${origin}/echo`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="gatehouse"');
    assert.deepEqual(await res.json(), {
      error: 'SDK_TOKEN_MISSING',
      message: 'No bearer token was presented',
    });
  });

  test('GET /echo with a bad token is 401 invalid_token', async () => {
    const res = await fetch(`${origin}/echo`, {
      headers: { authorization: `Bearer ${firstToken.slice(0, -4)}AAAA` },
    });
    assert.equal(res.status, 401);
    assert.match(
      res.headers.get('www-authenticate') ?? '',
      /^Bearer realm="gatehouse", error="invalid_token"/,
    );
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_SIGNATURE_INVALID');
  });

  test('the landing page lists every service with its live health', async () => {
    const res = await fetch(`${origin}/`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { services: { service: string; health: { status: string } }[] };
    const down = body.services.filter((s) => s.health.status !== 'up').map((s) => s.service);
    assert.deepEqual(down, []);
    assert.ok(body.services.length >= 8, JSON.stringify(body.services.map((s) => s.service)));
  });

  test("Beep's permission routes: bob reads #general, the staff room is closed to him", async () => {
    const login = await fetch(`${origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
    });
    assert.equal(login.status, 200);
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const general = await fetch(`${origin}/beep/channels/campus-general/messages`, { headers: { cookie } });
    assert.equal(general.status, 200);
    const staff = await fetch(`${origin}/beep/channels/campus-staff-room/messages`, { headers: { cookie } });
    assert.equal(staff.status, 403);
    assert.equal(((await staff.json()) as { error: string }).error, 'GW_PERMISSION_DENIED');
  });

  test('a password reset link lands in the development mailbox the landing page links to', async () => {
    const landing = await (await fetch(`${origin}/`)).text();
    assert.ok(landing.includes('href="/authentication/dev/mailbox"'), 'the landing page links the mailbox');
    const res = await fetch(`${origin}/authentication/password/forgot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bob@example.com' }),
    });
    assert.equal(res.status, 202);
    let link: string | undefined;
    for (let i = 0; i < 50 && !link; i++) {
      const mailbox = await fetch(`${origin}/authentication/dev/mailbox`);
      assert.equal(mailbox.status, 200);
      link = /href="([^"]*\/authentication\/recovery\/reset\?token[^"]+)"/.exec(await mailbox.text())?.[1];
      if (!link) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(link?.startsWith(`${origin}/`), `the link is on the public origin: ${link}`);
    const page = await fetch(link!.replace(/&#61;/g, '='));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Choose a new password/);
  });

  test('a first-party session and a registered user are created before the restart', async () => {
    const reg = await fetch(`${origin}/authentication/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: 'dave',
        password: 'a long enough passphrase',
        email: 'dave@example.com',
      }),
    });
    assert.equal(reg.status, 201, await reg.clone().text());
    const login = await fetch(`${origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dave', password: 'a long enough passphrase' }),
    });
    assert.equal(login.status, 200, await login.clone().text());
    const setCookie = login.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^gatehouse_session=[^;]+;.*HttpOnly/i);
    sessionCookie = setCookie.split(';')[0]!;
  });

  test('an admin registers a new confidential client through the admin API before the restart', async () => {
    const adminToken = await userAccessToken(origin, { username: 'alice', password: 'alice-password' });
    const res = await fetch(`${origin}/auth/admin/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        clientId: 'restart-probe',
        clientSecret: 'restart-probe-secret-0123456789',
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['client_credentials'],
        scope: '',
      }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(
      (await clientCredentialsToken(origin, 'restart-probe:restart-probe-secret-0123456789')).length > 0,
      true,
    );
  });

  test('SIGTERM stops the whole stack with exit code 0', async () => {
    const { code, ms } = await stop(running);
    console.log(`# stopped ${ms} ms after SIGTERM`);
    assert.equal(code, 0);
    assert.ok(ms < 5000, `took ${ms} ms; the shutdown timeout is 4 s`);
  });

  test('after a restart on the same data folder, keys, clients, users and sessions are still there', async () => {
    running = await startDev(env, origin);
    // The signing key is the same one: a token issued before the restart still verifies.
    const echo = await fetch(`${origin}/echo`, { headers: { authorization: `Bearer ${firstToken}` } });
    assert.equal(echo.status, 200);
    const again = await clientCredentialsToken(origin);
    assert.equal(decodeProtectedHeader(again).kid, firstKid);
    // The client registered through the admin API before the restart still authenticates.
    const probe = decodeJwt(
      await clientCredentialsToken(origin, 'restart-probe:restart-probe-secret-0123456789'),
    );
    assert.equal(probe.client_id, 'restart-probe');
    const whoami = await fetch(`${origin}/authentication/whoami`, { headers: { cookie: sessionCookie } });
    assert.equal(whoami.status, 200);
    const me = (await whoami.json()) as { username: string; roles: string[] };
    assert.equal(me.username, 'dave');
    const login = await fetch(`${origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dave', password: 'a long enough passphrase' }),
    });
    assert.equal(login.status, 200);
  });
});
