import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAuthz, readStoreTestFile, runStoreTestFile } from '@gatehouse/authz';
import { addDemoAccounts } from '../../shared/test/real-stack.ts';
import { login, type Stack, startStack } from '../../shared/test/shop-harness.ts';
import { BEEP_STORE, createBeepExample } from '../src/index.ts';

const STORE_TESTS = fileURLToPath(new URL('../model/beep.fga.yaml', import.meta.url));

describe('the Beep model', () => {
  test('every store test of beep.fga.yaml passes (each rule allowed and denied)', async () => {
    const { openTestSql } = await import('@gatehouse/core/testing');
    const { migrate } = await import('@gatehouse/core');
    const { authzMigrations } = await import('@gatehouse/authz');
    const db = await openTestSql('pglite');
    try {
      await migrate(db.sql, [authzMigrations]);
      const results = await runStoreTestFile(
        createAuthz({ sql: db.sql }),
        await readStoreTestFile(STORE_TESTS),
      );
      assert.ok(results.length >= 50, `${results.length} assertions`);
      assert.deepEqual(
        results.filter((r) => !r.passed),
        [],
      );
    } finally {
      await db.cleanup();
    }
  });
});

describe('Beep end to end: identity provider, gateway permission policies, service guards', () => {
  let s: Stack;
  let serviceUrl: string;
  const sessions: Record<string, string> = {};

  const as = (who: string) => ({ cookie: `gatehouse_session=${sessions[who]}` });
  const call = (base: string, method: string, path: string, who: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...as(who), 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  /** Through the gateway (its `permission` policy, then the service's guard). */
  const gw = (method: string, path: string, who: string, body?: unknown) =>
    call(s.publicUrl, method, path, who, body);
  /** Straight to the service: its sdk guard alone decides. */
  const direct = (method: string, path: string, who: string, body?: unknown) =>
    call(serviceUrl, method, path, who, body);
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
  const send = (path: string, who: string, text = 'hello') =>
    gw('POST', `/beep/channels/${path}/messages`, who, { text });
  const sendDirect = (path: string, who: string, text = 'hello') =>
    direct('POST', `/beep/channels/${path}/messages`, who, { text });
  const override = (channel: string, permission: string, target: string, effect: string) =>
    gw('PUT', `/beep/channels/${channel}/overrides`, 'alice', { permission, target, effect });

  /** Poll until `probe` answers `status`; the time from the change to the request that saw it. */
  async function within(since: number, probe: () => Promise<Response>, status: number): Promise<number> {
    while (performance.now() - since < 3000) {
      const asked = performance.now();
      const res = await probe();
      await res.body?.cancel();
      if (res.status === status) return asked - since;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`no ${status} within 3 s`);
  }

  /**
   * Cached decisions may lag a change by up to a second (the guarantee): a test that changed
   * relationships lets the next start after it.
   */
  const settle = () => new Promise((r) => setTimeout(r, 1100));

  /** Both the gateway's policy and the service's guard, allowed (2xx) or denied (403). */
  async function expectBoth(
    probe: (base: 'gw' | 'direct') => Promise<Response>,
    status: number,
    codes?: { gw: string; direct: string },
  ) {
    const viaGateway = await probe('gw');
    const viaService = await probe('direct');
    assert.equal(viaGateway.status, status, 'through the gateway');
    assert.equal(viaService.status, status, 'at the service');
    if (codes) {
      assert.equal(await errorOf(viaGateway), codes.gw);
      assert.equal(await errorOf(viaService), codes.direct);
    }
  }
  const DENIED = { gw: 'GW_PERMISSION_DENIED', direct: 'SDK_PERMISSION_DENIED' };
  const canSend = (channel: string, who: string) => (base: 'gw' | 'direct') =>
    base === 'gw' ? send(channel, who) : sendDirect(channel, who);
  const canRead = (channel: string, who: string) => (base: 'gw' | 'direct') =>
    (base === 'gw' ? gw : direct)('GET', `/beep/channels/${channel}/messages`, who);

  before(async () => {
    s = await startStack(createBeepExample());
    serviceUrl = s.handle.services.find((x) => x.name === 'beep')!.url;
    await addDemoAccounts(s.idp, {
      demoAccounts: [
        { username: 'erin', password: 'erin-password', email: 'erin@example.com', roles: ['user'] },
      ],
    });
    for (const who of ['alice', 'bob', 'cody', 'erin']) {
      sessions[who] = await login(s.publicUrl, who, `${who}-password`);
    }
  });
  after(() => s?.close());

  test('the example runs one service behind its routes, with the store seeded', async () => {
    assert.deepEqual(
      s.handle.services.map((x) => [x.name, x.healthPath, x.routes]),
      [['beep', '/health', ['/beep']]],
    );
    const authz = createAuthz({ sql: s.sql });
    const [store] = (await authz.listStores({ name: BEEP_STORE })).stores;
    assert.ok(store);
    const { tuples } = await authz.read(store.id, {
      tupleKey: { object: 'server:campus', relation: 'owner' },
    });
    assert.deepEqual(
      tuples.map((t) => t.key.user),
      ['user:alice'],
    );
  });

  test('members read and write in open channels: 200 / 201, the message is there', async () => {
    const sent = await send('campus-general', 'bob', 'hi from bob');
    assert.equal(sent.status, 201);
    const res = await gw('GET', '/beep/channels/campus-general/messages', 'alice');
    assert.equal(res.status, 200);
    const { messages } = (await res.json()) as { messages: { author: string; text: string }[] };
    assert.deepEqual(messages.at(-1), { ...messages.at(-1), author: 'bob', text: 'hi from bob' });
    await expectBoth(canRead('campus-welcome', 'bob'), 200);
  });

  test('someone who is not a member is denied by the gateway and by the service', async () => {
    await expectBoth(canRead('campus-general', 'erin'), 403, DENIED);
    await expectBoth(canSend('campus-general', 'erin'), 403, DENIED);
  });

  test('the channel list holds what the caller can view', async () => {
    const list = async (who: string) =>
      ((await (await gw('GET', '/beep/channels', who)).json()) as { channels: string[] }).channels;
    assert.deepEqual(await list('bob'), ['campus-announcements', 'campus-general', 'campus-welcome']);
    assert.deepEqual(await list('cody'), [
      'campus-announcements',
      'campus-general',
      'campus-staff-room',
      'campus-welcome',
    ]);
  });

  test('an @everyone deny on #announcements beats the server allow; the moderators role allow gives it back', async () => {
    await expectBoth(canRead('campus-announcements', 'bob'), 200);
    await expectBoth(canSend('campus-announcements', 'bob'), 403, DENIED);
    await expectBoth(canSend('campus-announcements', 'cody'), 201);
  });

  test('the private staff category hides #staff-room from bob, not from the moderator', async () => {
    await expectBoth(canRead('campus-staff-room', 'bob'), 403, DENIED);
    await expectBoth(canRead('campus-staff-room', 'cody'), 200);
  });

  test('a role deny on a channel beats @everyone allow', async () => {
    assert.equal(
      (await override('campus-general', 'send_messages', 'role:campus-moderators', 'deny')).status,
      204,
    );
    await within(performance.now(), () => sendDirect('campus-general', 'cody'), 403);
    await expectBoth(canSend('campus-general', 'cody'), 403, DENIED);
    await expectBoth(canSend('campus-general', 'bob'), 201);
    assert.equal(
      (await override('campus-general', 'send_messages', 'role:campus-moderators', 'inherit')).status,
      204,
    );
    await within(performance.now(), () => send('campus-general', 'cody'), 201);
    await settle();
  });

  test("a member's deny beats the role's allow; a member's allow beats @everyone's deny", async () => {
    assert.equal((await override('campus-announcements', 'send_messages', 'user:cody', 'deny')).status, 204);
    assert.equal((await override('campus-staff-room', 'view_channel', 'user:bob', 'allow')).status, 204);
    await within(performance.now(), () => sendDirect('campus-announcements', 'cody'), 403);
    await within(
      performance.now(),
      () => direct('GET', '/beep/channels/campus-staff-room/messages', 'bob'),
      200,
    );
    await expectBoth(canSend('campus-announcements', 'cody'), 403, DENIED);
    await expectBoth(canRead('campus-staff-room', 'bob'), 200);
    await override('campus-announcements', 'send_messages', 'user:cody', 'inherit');
    await override('campus-staff-room', 'view_channel', 'user:bob', 'inherit');
    await settle();
  });

  test('the owner passes every override', async () => {
    assert.equal((await override('campus-general', 'view_channel', 'user:alice', 'deny')).status, 204);
    await new Promise((r) => setTimeout(r, 400));
    await expectBoth(canRead('campus-general', 'alice'), 200);
    await override('campus-general', 'view_channel', 'user:alice', 'inherit');
    await settle();
  });

  test('an Administrator role passes every override', async () => {
    assert.equal((await gw('PUT', '/beep/servers/campus/roles/campus-admins', 'alice')).status, 204);
    assert.equal(
      (await gw('PUT', '/beep/servers/campus/roles/campus-admins/members/bob', 'alice')).status,
      204,
    );
    assert.equal(
      (await gw('PUT', '/beep/servers/campus/roles/campus-admins/permissions/administrator', 'alice')).status,
      204,
    );
    await within(
      performance.now(),
      () => direct('GET', '/beep/channels/campus-staff-room/messages', 'bob'),
      200,
    );
    await expectBoth(canRead('campus-staff-room', 'bob'), 200);
    await expectBoth(canSend('campus-announcements', 'bob'), 201);
    // bob may now manage roles, but granting Administrator takes being one: he is, through the role.
    assert.equal(
      (await gw('PUT', '/beep/servers/campus/roles/campus-moderators/permissions/manage_roles', 'bob'))
        .status,
      204,
    );
    for (const [role, who] of [
      ['campus-admins', 'bob'],
      ['campus-moderators', 'cody'],
    ] as const) {
      await gw('DELETE', `/beep/servers/campus/roles/${role}/members/${who}`, 'alice');
    }
    await gw('DELETE', '/beep/servers/campus/roles/campus-moderators/permissions/manage_roles', 'alice');
    await gw('PUT', '/beep/servers/campus/roles/campus-moderators/members/cody', 'alice');
    await settle();
  });

  test('managing roles takes manage_roles: bob and cody are denied, alice is not', async () => {
    const path = '/beep/servers/campus/roles/campus-moderators/permissions/create_invite';
    for (const who of ['bob', 'cody']) {
      await expectBoth((base) => (base === 'gw' ? gw : direct)('PUT', path, who), 403, DENIED);
    }
    assert.equal((await gw('PUT', path, 'alice')).status, 204);
    assert.equal((await gw('DELETE', path, 'alice')).status, 204);
    // With manage_roles, cody may manage roles, but not hand out Administrator, which she lacks.
    const manageRoles = '/beep/servers/campus/roles/campus-moderators/permissions/manage_roles';
    assert.equal((await gw('PUT', manageRoles, 'alice')).status, 204);
    const granted = performance.now();
    await within(granted, () => direct('PUT', path, 'cody'), 204);
    // The gateway's decision cache follows the change feed on its own: wait for it as well.
    await within(granted, () => gw('PUT', path, 'cody'), 204);
    const admin = await gw(
      'PUT',
      '/beep/servers/campus/roles/campus-moderators/permissions/administrator',
      'cody',
    );
    assert.equal(admin.status, 403);
    assert.equal(await errorOf(admin), 'BEEP_ADMINISTRATOR_REQUIRED');
    assert.equal((await gw('DELETE', manageRoles, 'alice')).status, 204);
    assert.equal((await gw('DELETE', path, 'alice')).status, 204);
    await settle();
  });

  test('channel overrides take manage_channels: the moderator may, bob may not', async () => {
    const body = { permission: 'send_messages', target: 'user:bob', effect: 'inherit' };
    await expectBoth(
      (base) => (base === 'gw' ? gw : direct)('PUT', '/beep/channels/campus-general/overrides', 'bob', body),
      403,
      DENIED,
    );
    assert.equal((await gw('PUT', '/beep/channels/campus-general/overrides', 'cody', body)).status, 204);
  });

  test('a role losing a permission is denied everywhere within a second, and allowed again as fast', async () => {
    await expectBoth(canSend('campus-general', 'bob'), 201);
    const everyoneSend = '/beep/servers/campus/roles/everyone/permissions/send_messages';
    assert.equal((await gw('DELETE', everyoneSend, 'alice')).status, 204);
    const revoked = performance.now();
    const viaGateway = await within(revoked, () => send('campus-general', 'bob'), 403);
    const viaService = await within(revoked, () => sendDirect('campus-general', 'bob'), 403);
    assert.ok(viaGateway < 1000 && viaService < 1000, `gateway ${viaGateway} ms, service ${viaService} ms`);

    assert.equal((await gw('PUT', everyoneSend, 'alice')).status, 204);
    const granted = performance.now();
    const backViaGateway = await within(granted, () => send('campus-general', 'bob'), 201);
    const backViaService = await within(granted, () => sendDirect('campus-general', 'bob'), 201);
    assert.ok(backViaGateway < 1000 && backViaService < 1000, `${backViaGateway} ms, ${backViaService} ms`);
  });

  test('an invitation link lets a stranger join; she then reads the open channels', async () => {
    const created = await gw('POST', '/beep/servers/campus/invites', 'bob', { ttlSeconds: 600 });
    assert.equal(created.status, 201);
    const { code, joinPath, expiresAt } = (await created.json()) as Record<string, string>;
    assert.ok(Date.parse(expiresAt!) > Date.now());
    const joined = await gw('POST', joinPath!, 'erin');
    assert.equal(joined.status, 200);
    assert.deepEqual(await joined.json(), { server: 'campus' });
    await within(performance.now(), () => canRead('campus-general', 'erin')('gw'), 200);
    await expectBoth(canRead('campus-general', 'erin'), 200);
    await expectBoth(canRead('campus-staff-room', 'erin'), 403, DENIED);
    assert.match(code!, /^[A-Za-z0-9_-]{16}$/);
  });

  test('an expired invitation is refused by the gateway and by the service', async () => {
    await addDemoAccounts(s.idp, {
      demoAccounts: [
        { username: 'frank', password: 'frank-password', email: 'frank@example.com', roles: ['user'] },
      ],
    });
    sessions['frank'] = await login(s.publicUrl, 'frank', 'frank-password');
    const created = await gw('POST', '/beep/servers/campus/invites', 'bob', { ttlSeconds: 1 });
    const { joinPath } = (await created.json()) as Record<string, string>;
    await new Promise((r) => setTimeout(r, 1100));
    const viaGateway = await gw('POST', joinPath!, 'frank');
    assert.equal(viaGateway.status, 403);
    assert.equal(await errorOf(viaGateway), 'GW_PERMISSION_DENIED');
    const viaService = await direct('POST', joinPath!, 'frank');
    assert.equal(viaService.status, 403);
    assert.equal(await errorOf(viaService), 'BEEP_INVITE_INVALID');
    await expectBoth(canRead('campus-general', 'frank'), 403, DENIED);
    const unknown = await direct('POST', '/beep/invites/no-such-code/join', 'frank');
    assert.equal(await errorOf(unknown), 'BEEP_INVITE_INVALID');
  });

  test('bad input is 400 with a stable code and writes nothing', async () => {
    const authz = createAuthz({ sql: s.sql });
    const [store] = (await authz.listStores({ name: BEEP_STORE })).stores;
    const count = async () => (await authz.read(store!.id, { pageSize: 100 })).tuples.length;
    const before = await count();
    const cases: [string, string, unknown, string][] = [
      [
        'PUT',
        '/beep/channels/campus-general/overrides',
        { permission: 'kick', target: 'everyone', effect: 'allow' },
        'BEEP_BAD_REQUEST',
      ],
      [
        'PUT',
        '/beep/channels/campus-general/overrides',
        { permission: 'view_channel', target: 'user:a#b', effect: 'allow' },
        'BEEP_BAD_REQUEST',
      ],
      [
        'PUT',
        '/beep/channels/campus-general/overrides',
        { permission: 'view_channel', target: 'everyone', effect: 'maybe' },
        'BEEP_BAD_REQUEST',
      ],
      [
        'PUT',
        '/beep/channels/campus-general/overrides',
        { permission: 'view_channel', target: 'role:nope', effect: 'deny' },
        'BEEP_ROLE_NOT_FOUND',
      ],
      [
        'PUT',
        '/beep/channels/campus-general/overrides',
        { permission: 'view_channel', extra: 1 },
        'BEEP_BAD_REQUEST',
      ],
      ['PUT', '/beep/channels/campus-general/overrides', 'not json', 'BEEP_BAD_REQUEST'],
      ['PUT', '/beep/servers/campus/roles/everyone/permissions/manage_roles', undefined, 'BEEP_BAD_REQUEST'],
      ['PUT', '/beep/servers/campus/roles/campus-moderators/permissions/ban', undefined, 'BEEP_BAD_REQUEST'],
      ['PUT', '/beep/servers/campus/roles/ghosts/permissions/view_channel', undefined, 'BEEP_ROLE_NOT_FOUND'],
      ['PUT', '/beep/servers/campus/roles/everyone/members/bob', undefined, 'BEEP_BAD_REQUEST'],
      ['POST', '/beep/servers/campus/invites', { ttlSeconds: 0 }, 'BEEP_BAD_REQUEST'],
      ['POST', '/beep/servers/campus/invites', { ttlSeconds: 1e9 }, 'BEEP_BAD_REQUEST'],
      ['POST', '/beep/channels/campus-general/messages', { text: '' }, 'BEEP_BAD_REQUEST'],
      ['POST', '/beep/channels/campus-general/messages', { text: 'x'.repeat(2001) }, 'BEEP_BAD_REQUEST'],
    ];
    for (const [method, path, body, code] of cases) {
      const res = await gw(method, path, 'alice', body);
      assert.equal(
        res.status,
        code === 'BEEP_ROLE_NOT_FOUND' ? 404 : 400,
        `${method} ${path} ${JSON.stringify(body)}`,
      );
      assert.equal(await errorOf(res), code, `${method} ${path}`);
    }
    const big = await gw('POST', '/beep/channels/campus-general/messages', 'alice', {
      text: 'x'.repeat(5000),
    });
    assert.equal(big.status, 413);
    assert.equal(await errorOf(big), 'BEEP_BODY_TOO_LARGE');
    assert.equal(await count(), before);
  });

  test('a path parameter that could name another object is refused before the engine is asked', async () => {
    const res = await gw('GET', '/beep/channels/campus-general%23x/messages', 'alice');
    assert.equal(res.status, 403);
    const direct403 = await direct('GET', '/beep/channels/campus:general/messages', 'alice');
    assert.equal(direct403.status, 403);
    assert.equal(await errorOf(direct403), 'SDK_PERMISSION_DENIED');
  });
});
