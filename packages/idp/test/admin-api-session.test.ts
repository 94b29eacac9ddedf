import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AccountsIdp, serviceToken, sessionCookieOf, startAccountsIdp } from './accounts-harness.ts';

/** The admin API used by a browser console signed in with the first-party session cookie. */
describe('admin API with the session cookie of an admin (console)', () => {
  let t: AccountsIdp;
  let alice: string;
  let bob: string;

  async function login(username: string, password: string): Promise<string> {
    const res = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    assert.equal(res.status, 200);
    return sessionCookieOf(res)!;
  }

  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
    alice = await login('alice', 'alice-password');
    bob = await login('bob', 'bob-password');
  });
  after(() => t?.close());

  const call = (
    method: string,
    path: string,
    cookie: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ) =>
    fetch(`${t.origin}/auth/admin${path}`, {
      method,
      headers: {
        cookie: `gatehouse_session=${cookie}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  async function expectError(res: Response, status: number, code: string) {
    assert.equal(res.status, status);
    assert.equal(((await res.json()) as { error: string }).error, code);
  }

  test('an admin’s session cookie reads the API', async () => {
    const res = await call('GET', '/users', alice);
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(await res.json()));
  });

  test('a change with the cookie, the CSRF header and this origin is allowed and audited as the user', async () => {
    const res = await call(
      'POST',
      '/roles',
      alice,
      { 'x-gatehouse-csrf': '1', origin: t.origin },
      { name: 'auditor', description: 'reads the audit trail' },
    );
    assert.equal(res.status, 201);
    const aliceId = (await t.accounts.getByUsername('alice'))!.id;
    const trail = await call('GET', '/audit?type=admin.change', alice);
    const events = (await trail.json()) as Array<{ actor: string; details: { action?: string } }>;
    assert.ok(
      events.some((e) => e.actor === aliceId && e.details.action === 'role.create'),
      JSON.stringify(events),
    );
  });

  test('a change with the cookie but without the CSRF header is 403 IDP_CSRF_REJECTED and changes nothing', async () => {
    const res = await call('POST', '/roles', alice, { origin: t.origin }, { name: 'forged-role' });
    await expectError(res, 403, 'IDP_CSRF_REJECTED');
    assert.equal(
      (await t.accounts.roles.list()).some((r) => r.name === 'forged-role'),
      false,
    );
  });

  test('a change with the cookie from another origin is 403 IDP_CSRF_REJECTED even with the header', async () => {
    const res = await call(
      'POST',
      '/roles',
      alice,
      { 'x-gatehouse-csrf': '1', origin: 'https://evil.example' },
      { name: 'forged-role' },
    );
    await expectError(res, 403, 'IDP_CSRF_REJECTED');
    const site = await call('DELETE', '/roles/auditor', alice, {
      'x-gatehouse-csrf': '1',
      'sec-fetch-site': 'cross-site',
    });
    await expectError(site, 403, 'IDP_CSRF_REJECTED');
  });

  test('the session cookie of a user without the admin role is 403 IDP_FORBIDDEN', async () => {
    await expectError(await call('GET', '/users', bob), 403, 'IDP_FORBIDDEN');
  });

  test('a forged or ended session cookie is 401 IDP_UNAUTHENTICATED', async () => {
    await expectError(await call('GET', '/users', `${alice.slice(0, -4)}AAAA`), 401, 'IDP_UNAUTHENTICATED');
    const carol = await login('alice', 'alice-password');
    const out = await fetch(`${t.origin}/authentication/logout`, {
      method: 'POST',
      headers: { cookie: `gatehouse_session=${carol}`, 'content-type': 'application/json', origin: t.origin },
    });
    assert.equal(out.status, 204);
    await expectError(await call('GET', '/users', carol), 401, 'IDP_UNAUTHENTICATED');
  });

  test('a bearer token still works and needs no CSRF header', async () => {
    const token = await serviceToken(t, 'ops-robot', ['admin']);
    const res = await fetch(`${t.origin}/auth/admin/roles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'robot-made' }),
    });
    assert.equal(res.status, 201);
  });
});
