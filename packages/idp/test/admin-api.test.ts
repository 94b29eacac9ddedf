import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import {
  type AccountsIdp,
  accessTokenFor,
  serviceToken,
  sessionCookieOf,
  startAccountsIdp,
} from './accounts-harness.ts';

describe('admin API', () => {
  let t: AccountsIdp;
  let aliceToken: string;
  let bobToken: string;
  let adminService: string;

  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
    aliceToken = await accessTokenFor(t, 'alice', 'alice-password');
    bobToken = await accessTokenFor(t, 'bob', 'bob-password');
    adminService = await serviceToken(t, 'ops-robot', ['admin']);
  });
  after(() => t?.close());

  const call = (method: string, path: string, token: string | undefined, body?: unknown) =>
    fetch(`${t.origin}/auth/admin${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });

  async function expectError(res: Response, status: number, code: string) {
    assert.equal(res.status, status);
    assert.equal(((await res.json()) as { error: string }).error, code);
  }

  test('the OpenAPI document is served and lists the resources', async () => {
    const res = await fetch(`${t.origin}/auth/admin/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      servers: Array<{ url: string }>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.servers[0]!.url, `${t.origin}/auth/admin`);
    for (const p of [
      '/users',
      '/roles',
      '/groups',
      '/clients',
      '/clients/{clientId}/secret',
      '/sessions',
      '/keys/rotate',
      '/audit',
      '/users/{id}/second-factors',
      '/directory',
    ]) {
      assert.ok(doc.paths[p], p);
    }
  });

  test('without a token: 401 IDP_UNAUTHENTICATED with WWW-Authenticate', async () => {
    const res = await call('GET', '/users', undefined);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="gatehouse-admin"');
    await expectError(res, 401, 'IDP_UNAUTHENTICATED');
  });

  test('a forged or foreign token: 401', async () => {
    const [h, p] = aliceToken.split('.');
    await expectError(await call('GET', '/users', `${h}.${p}.AAAA`), 401, 'IDP_UNAUTHENTICATED');
  });

  test('a user without the admin role: 403 IDP_FORBIDDEN', async () => {
    await expectError(await call('GET', '/users', bobToken), 403, 'IDP_FORBIDDEN');
  });

  test('a service token without the admin role: 403', async () => {
    const plain = await serviceToken(t, 'plain-robot', ['reader']);
    await expectError(await call('GET', '/users', plain), 403, 'IDP_FORBIDDEN');
  });

  test('an admin user lists users', async () => {
    const res = await call('GET', '/users', aliceToken);
    assert.equal(res.status, 200);
    const users = (await res.json()) as Array<{ username: string }>;
    assert.deepEqual(users.map((u) => u.username).slice(0, 2), ['alice', 'bob']);
  });

  test('create a user, give a role through a group, see it in roles; audited with the actor', async () => {
    const created = await call('POST', '/users', adminService, {
      username: 'hank',
      password: 'a brand new phrase',
      email: 'hank@example.com',
    });
    assert.equal(created.status, 201);
    const hank = (await created.json()) as { id: string; roles: string[] };
    assert.deepEqual(hank.roles, []);
    assert.equal((await call('POST', '/roles', adminService, { name: 'shipper' })).status, 201);
    assert.equal((await call('POST', '/groups', adminService, { name: 'warehouse' })).status, 201);
    assert.equal((await call('PUT', '/groups/warehouse/roles/shipper', adminService)).status, 204);
    assert.equal((await call('PUT', `/groups/warehouse/members/${hank.id}`, adminService)).status, 204);
    assert.equal((await call('PUT', `/users/${hank.id}/roles/user`, adminService)).status, 204);
    const got = (await (await call('GET', `/users/${hank.id}`, adminService)).json()) as {
      roles: string[];
      directRoles: string[];
      groups: string[];
    };
    assert.deepEqual(got.roles, ['shipper', 'user']);
    assert.deepEqual(got.directRoles, ['user']);
    assert.deepEqual(got.groups, ['warehouse']);
    const audit = (await (
      await call('GET', `/audit?type=admin.change&subject=${hank.id}`, adminService)
    ).json()) as Array<{
      actor: string;
      details: { action: string };
    }>;
    assert.deepEqual(
      audit.map((e) => e.details.action),
      ['user.role.assign', 'user.create'],
    );
    assert.equal(audit[0]!.actor, 'client:ops-robot');
  });

  test('an unknown field, a bad type, a missing field each get their code and create nothing', async () => {
    await expectError(
      await call('POST', '/users', adminService, {
        username: 'ivy',
        password: 'another new phrase',
        admin: true,
      }),
      400,
      'IDP_FIELD_UNKNOWN',
    );
    await expectError(
      await call('POST', '/users', adminService, { username: 'ivy', password: 12345678 }),
      400,
      'IDP_FIELD_INVALID',
    );
    await expectError(
      await call('POST', '/users', adminService, { username: 'ivy' }),
      400,
      'IDP_FIELD_MISSING',
    );
    await expectError(await call('POST', '/users', adminService, '{"username":'), 400, 'GH_BAD_REQUEST');
    await expectError(
      await call('POST', '/users', adminService, {
        username: 'ivy',
        password: 'another new phrase',
        roles: ['no-such-role'],
      }),
      404,
      'IDP_NOT_FOUND',
    );
    const list = (await (await call('GET', '/users?search=ivy', adminService)).json()) as unknown[];
    assert.deepEqual(list, []);
  });

  test('an unknown query parameter is refused', async () => {
    await expectError(await call('GET', '/users?limit=5&evil=1', adminService), 400, 'IDP_FIELD_UNKNOWN');
    await expectError(await call('GET', '/users?limit=100000', adminService), 400, 'IDP_FIELD_INVALID');
  });

  test('control characters in a path or query parameter are refused before storage sees them', async () => {
    await expectError(await call('DELETE', '/roles/%00', adminService), 400, 'IDP_FIELD_INVALID');
    await expectError(await call('GET', '/users?search=%00', adminService), 400, 'IDP_FIELD_INVALID');
    await expectError(
      await call('POST', '/roles', adminService, { name: 'ok-role', description: 'a\u0000b' }),
      400,
      'IDP_FIELD_INVALID',
    );
  });

  test('an encoded /, \\ or ; in a path parameter is refused as a gateway would, not looked up', async () => {
    for (const bad of ['a%2Fb', 'a%5Cb', 'a%3Bb']) {
      await expectError(await call('DELETE', `/roles/${bad}`, adminService), 400, 'IDP_FIELD_INVALID');
      await expectError(await call('GET', `/users/${bad}`, adminService), 400, 'IDP_FIELD_INVALID');
    }
  });

  test('since and until take RFC 3339 date-times only', async () => {
    for (const bad of ['0.5', 'May 1', '2026-05-01', 'garbage']) {
      await expectError(
        await call('GET', `/audit?until=${encodeURIComponent(bad)}`, adminService),
        400,
        'IDP_FIELD_INVALID',
      );
    }
    const ok = await call(
      'GET',
      '/audit?since=2026-05-01T00:00:00Z&until=2099-05-01T00:00:00.5%2B02:00',
      adminService,
    );
    assert.equal(ok.status, 200);
  });

  test('body rules the document states: password 8 to 128, email shape, client cross-field rules', async () => {
    const user = (p: string, extra = {}) =>
      call('POST', '/users', adminService, { username: 'kim', password: p, ...extra });
    await expectError(await user('short'), 400, 'IDP_FIELD_INVALID');
    await expectError(await user('x'.repeat(129)), 400, 'IDP_FIELD_INVALID');
    await expectError(await user('a long enough phrase', { email: 'no@tld' }), 400, 'IDP_FIELD_INVALID');
    for (const [client, code] of [
      [
        {
          clientId: 'pub-secret',
          tokenEndpointAuthMethod: 'none',
          clientSecret: 'x'.repeat(32),
          redirectUris: ['https://a.example/cb'],
        },
        'IDP_FIELD_INVALID',
      ],
      [{ clientId: 'code-no-redirect' }, 'IDP_FIELD_MISSING'],
      [
        {
          clientId: 'both-keys',
          grantTypes: ['client_credentials'],
          jwks: { keys: [] },
          jwksUri: 'https://a.example/jwks',
        },
        'IDP_FIELD_INVALID',
      ],
    ] as const) {
      await expectError(await call('POST', '/clients', adminService, client), 400, code);
      assert.equal((await call('GET', `/clients/${client.clientId}`, adminService)).status, 404);
    }
    const list = (await (await call('GET', '/users?search=kim', adminService)).json()) as unknown[];
    assert.deepEqual(list, []);
  });

  test('a change to an email another account has: 409 IDP_EMAIL_TAKEN, documented', async () => {
    const a = await call('POST', '/users', adminService, {
      username: 'lee',
      password: 'lee pass phrase',
      email: 'lee@example.com',
    });
    const b = await call('POST', '/users', adminService, { username: 'max', password: 'max pass phrase' });
    const maxId = ((await b.json()) as { id: string }).id;
    assert.equal(a.status, 201);
    await expectError(
      await call('PATCH', `/users/${maxId}`, adminService, { email: 'LEE@example.com' }),
      409,
      'IDP_EMAIL_TAKEN',
    );
    const doc = (await (await fetch(`${t.origin}/auth/admin/openapi.json`)).json()) as {
      paths: Record<string, { patch?: { responses: Record<string, unknown> } }>;
    };
    assert.ok(doc.paths['/users/{id}']!.patch!.responses['409']);
  });

  test('a user\u2019s second factors are read: none set up for bob; an unknown user is 404', async () => {
    const users = (await (await call('GET', '/users?search=bob', aliceToken)).json()) as Array<{
      id: string;
    }>;
    const res = await call('GET', `/users/${users[0]!.id}/second-factors`, aliceToken);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { totp: false, recoveryCodesLeft: 0, passkeys: 0 });
    await expectError(
      await call('GET', '/users/00000000-0000-4000-8000-000000000000/second-factors', aliceToken),
      404,
      'IDP_NOT_FOUND',
    );
    await expectError(
      await call('GET', `/users/${users[0]!.id}/second-factors`, bobToken),
      403,
      'IDP_FORBIDDEN',
    );
  });

  test('without a directory configured the admin API says so', async () => {
    const res = await call('GET', '/directory', aliceToken);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { enabled: false });
    await expectError(await call('GET', '/directory?x=1', aliceToken), 400, 'IDP_FIELD_UNKNOWN');
  });

  test('wrong method on a known path: 405 with Allow', async () => {
    const res = await call('PATCH', '/roles', adminService, {});
    assert.equal(res.headers.get('allow'), 'GET, POST');
    await expectError(res, 405, 'GH_METHOD_NOT_ALLOWED');
  });

  test('disabling a user ends their sessions and stops their login', async () => {
    await call('POST', '/users', adminService, { username: 'jill', password: 'jumping over fences' });
    const login = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'jill', password: 'jumping over fences' }),
    });
    const cookie = sessionCookieOf(login)!;
    const sid = decodeJwt(cookie)['sid'] as string;
    const id = decodeJwt(cookie).sub!;
    const res = await call('PATCH', `/users/${id}`, adminService, { enabled: false });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { enabled: boolean }).enabled, false);
    assert.equal(await t.state.get(`gatehouse:revoked:sid:${sid}`), '1');
    const again = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'jill', password: 'jumping over fences' }),
    });
    assert.equal(again.status, 401);
  });

  test('sessions are listed and one is revoked everywhere', async () => {
    const login = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'bob', password: 'bob-password' }),
    });
    const cookie = sessionCookieOf(login)!;
    const sid = decodeJwt(cookie)['sid'] as string;
    const list = (await (
      await call('GET', `/sessions?active=true&userId=${decodeJwt(cookie).sub}`, adminService)
    ).json()) as Array<{
      sid: string;
      username: string;
    }>;
    assert.ok(list.some((s) => s.sid === sid && s.username === 'bob'));
    assert.equal((await call('DELETE', `/sessions/${sid}`, adminService)).status, 204);
    assert.equal(await t.state.get(`gatehouse:revoked:sid:${sid}`), '1');
    const me = await fetch(`${t.origin}/authentication/whoami`, {
      headers: { cookie: `gatehouse_session=${cookie}` },
    });
    assert.equal(me.status, 401);
    await expectError(await call('DELETE', `/sessions/${sid}`, adminService), 404, 'IDP_NOT_FOUND');
  });

  test('a client is created with a generated secret, the secret rotates, and the old one stops working', async () => {
    const created = await call('POST', '/clients', adminService, {
      clientId: 'orders-service',
      tokenEndpointAuthMethod: 'client_secret_basic',
      grantTypes: ['client_credentials'],
      scope: '',
      roles: ['orders'],
    });
    assert.equal(created.status, 201);
    const { clientSecret, client } = (await created.json()) as {
      clientSecret: string;
      client: { metadata: Record<string, unknown> };
    };
    assert.equal(client.metadata['client_secret'], undefined);
    const grant = (secret: string) =>
      fetch(`${t.origin}/auth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`orders-service:${secret}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
    assert.equal((await grant(clientSecret)).status, 200);
    const rotated = await call('POST', '/clients/orders-service/secret', adminService);
    assert.equal(rotated.status, 200);
    const next = ((await rotated.json()) as { clientSecret: string }).clientSecret;
    assert.notEqual(next, clientSecret);
    assert.equal((await grant(clientSecret)).status, 401);
    assert.equal((await grant(next)).status, 200);
    await expectError(
      await call('POST', '/clients', adminService, {
        clientId: 'orders-service',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: ['https://x.example/cb'],
      }),
      409,
      'IDP_ALREADY_EXISTS',
    );
  });

  test('keys are listed and rotated; the JWKS keeps the old key', async () => {
    const before = (await (await call('GET', '/keys', adminService)).json()) as Array<{
      kid: string;
      state: string;
    }>;
    const active = before.find((k) => k.state === 'active')!.kid;
    const res = await call('POST', '/keys/rotate', adminService);
    assert.equal(res.status, 200);
    const result = (await res.json()) as { activated: string; retired: string };
    assert.equal(result.retired, active);
    const after = (await (await call('GET', '/keys', adminService)).json()) as Array<{
      kid: string;
      state: string;
    }>;
    assert.equal(after.find((k) => k.kid === active)!.state, 'retired');
    const jwks = (await (await fetch(`${t.origin}/auth/jwks`)).json()) as { keys: Array<{ kid: string }> };
    assert.ok(jwks.keys.some((k) => k.kid === active));
  });

  test('losing a role through a group ends the user\u2019s first-party sessions everywhere', async () => {
    const created = (await (
      await call('POST', '/users', adminService, { username: 'liam', password: 'lanterns by the lake' })
    ).json()) as { id: string };
    assert.equal((await call('POST', '/groups', adminService, { name: 'editors' })).status, 201);
    assert.equal((await call('POST', '/roles', adminService, { name: 'editor' })).status, 201);
    await call('PUT', '/groups/editors/roles/editor', adminService);
    await call('PUT', `/groups/editors/members/${created.id}`, adminService);
    const login = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'liam', password: 'lanterns by the lake' }),
    });
    const cookie = sessionCookieOf(login)!;
    assert.deepEqual(decodeJwt(cookie)['roles'], ['editor']);
    assert.equal((await call('DELETE', '/groups/editors/roles/editor', adminService)).status, 204);
    assert.equal(await t.state.get(`gatehouse:revoked:sid:${decodeJwt(cookie)['sid']}`), '1');
    const me = await fetch(`${t.origin}/authentication/whoami`, {
      headers: { cookie: `gatehouse_session=${cookie}` },
    });
    assert.equal(me.status, 401);
  });

  test('a user who lost the admin role is refused at once, with a token that still says admin', async () => {
    const created = (await (
      await call('POST', '/users', adminService, {
        username: 'kate',
        password: 'kites in the wind',
        roles: ['admin'],
      })
    ).json()) as { id: string };
    const kateToken = await accessTokenFor(t, 'kate', 'kites in the wind');
    assert.equal((await call('GET', '/roles', kateToken)).status, 200);
    assert.equal((await call('DELETE', `/users/${created.id}/roles/admin`, adminService)).status, 204);
    await expectError(await call('GET', '/roles', kateToken), 403, 'IDP_FORBIDDEN');
  });
});
