import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { authzMigrations, createAuthz, readStoreTestFile, runStoreTestFile } from '@gatehouse/authz';
import { migrate } from '@gatehouse/core';
import { openTestSql } from '@gatehouse/core/testing';
import { type RealStack, startRealStack } from '../../shared/test/real-stack.ts';
import { bearerToken, sessionCookie } from '../../shared/test/sign-in.ts';
import {
  createPartscoderExample,
  PARTSCODER_CLI_REDIRECT,
  PARTSCODER_DEMO_ACCOUNTS,
  PARTSCODER_ROLES,
  PARTSCODER_STORE,
} from '../src/index.ts';

/**
 * PartsCoder end to end: the identity provider, the gateway with routes.yaml, and the five services,
 * called through the gateway as alice (admin, user), bob (user), carol (editor, user) and nobody.
 */
type Caller = Record<string, string>;

let stack: RealStack;
const as: Record<'alice' | 'bob' | 'carol' | 'anonymous', Caller> = {
  alice: {},
  bob: {},
  carol: {},
  anonymous: {},
};
let bobBearer: Caller;

async function call(
  who: Caller,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: the tests read each answer's JSON by its documented shape
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${stack.publicUrl}${path}`, {
    method,
    headers: { ...who, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const json =
    res.headers.get('content-type')?.includes('application/json') && text !== '' ? JSON.parse(text) : text;
  return { status: res.status, json, headers: res.headers };
}

const newPart = { number: 'WIP-7001', name: 'Wiper blade', vehicle: 'Skoda Octavia III', category: 'wipers' };

describe('PartsCoder behind the gateway', { timeout: 120_000 }, () => {
  before(async () => {
    stack = await startRealStack(createPartscoderExample(), {
      demoAccounts: PARTSCODER_DEMO_ACCOUNTS,
      roles: PARTSCODER_ROLES,
    });
    for (const name of ['alice', 'bob', 'carol'] as const) {
      as[name] = { cookie: await sessionCookie(stack.publicUrl, name, `${name}-password`) };
    }
    const token = await bearerToken(
      stack.publicUrl,
      { clientId: 'partscoder-cli', redirectUri: PARTSCODER_CLI_REDIRECT },
      'bob',
      'bob-password',
    );
    bobBearer = { authorization: `Bearer ${token}` };
  });
  after(() => stack?.close());

  test('an anonymous caller gets 401 SDK_TOKEN_MISSING on every route', async () => {
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/dashboard'],
      ['GET', '/dashboard/api/services'],
      ['GET', '/realm-info'],
      ['PUT', '/realm-info/settings', { units: 'metric' }],
      ['GET', '/parts'],
      ['GET', '/parts/1'],
      ['POST', '/parts', newPart],
      ['GET', '/photo-guidelines'],
      ['GET', '/surveys'],
      ['POST', '/surveys', { title: 't', questions: ['q'] }],
    ];
    for (const [method, path, body] of routes) {
      const res = await call(as.anonymous, method, path, body);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.json.error, 'SDK_TOKEN_MISSING', `${method} ${path}`);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="gatehouse"/);
    }
  });

  test('one sign-in reaches every service, with the session cookie and with a bearer token', async () => {
    const reads = [
      '/dashboard',
      '/dashboard/api/services',
      '/realm-info',
      '/parts',
      '/photo-guidelines',
      '/surveys',
    ];
    for (const caller of [as.alice, as.bob, as.carol, bobBearer]) {
      for (const path of reads) assert.equal((await call(caller, 'GET', path)).status, 200, path);
    }
  });

  test('the dashboard lists every service as up, fed by its health checks', async () => {
    const res = await call(as.bob, 'GET', '/dashboard/api/services');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.json.services.map((s: { name: string; routes: string[]; status: string }) => [
        s.name,
        s.routes,
        s.status,
      ]),
      [
        ['mw-dashboard', ['/dashboard'], 'up'],
        ['mw-part-mapper', ['/parts'], 'up'],
        ['mw-photo-shark', ['/photo-guidelines'], 'up'],
        ['mw-realm-info', ['/realm-info'], 'up'],
        ['mw-survey', ['/surveys'], 'up'],
      ],
    );
    for (const s of res.json.services) assert.equal(typeof s.checkedAt, 'string');
  });

  test('the dashboard page shows the services and who is signed in', async () => {
    const res = await call(as.alice, 'GET', '/dashboard');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.json, /Signed in as <strong>alice<\/strong>/);
    for (const name of ['mw-dashboard', 'mw-realm-info', 'mw-part-mapper', 'mw-photo-shark', 'mw-survey']) {
      assert.match(res.json, new RegExp(`<td>${name}</td>`));
    }
    assert.doesNotMatch(res.json, /127\.0\.0\.1/, 'internal URLs stay internal');
  });

  test('every user reads the parts catalogue and the photo guidelines', async () => {
    for (const caller of [as.alice, as.bob, as.carol]) {
      const parts = await call(caller, 'GET', '/parts');
      assert.equal(parts.status, 200);
      assert.deepEqual(parts.json.parts[0], {
        id: 1,
        number: 'BRK-1001',
        name: 'Front brake pad set',
        vehicle: 'VW Golf VII',
        category: 'brakes',
      });
      const part = await call(caller, 'GET', '/parts/1');
      assert.equal(part.status, 200);
      assert.equal(part.json.number, 'BRK-1001');
      const guidelines = await call(caller, 'GET', '/photo-guidelines');
      assert.equal(guidelines.status, 200);
      assert.equal(guidelines.json.guidelines.length, 2);
      assert.equal((await call(caller, 'GET', '/photo-guidelines/2')).json.title, 'Lighting units');
    }
  });

  test('writing parts needs the editor role: bob and alice (admin) get 403, carol writes', async () => {
    for (const caller of [as.bob, as.alice, bobBearer]) {
      for (const [method, path] of [
        ['POST', '/parts'],
        ['PUT', '/parts/1'],
        ['DELETE', '/parts/1'],
      ] as const) {
        const res = await call(caller, method, path, method === 'DELETE' ? undefined : newPart);
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.equal(res.json.error, 'SDK_INSUFFICIENT_ROLE');
      }
    }
    const created = await call(as.carol, 'POST', '/parts', newPart);
    assert.equal(created.status, 201);
    assert.deepEqual(created.json, { id: created.json.id, ...newPart });
    assert.equal(created.headers.get('location'), `/parts/${created.json.id}`);
    const renamed = await call(as.carol, 'PUT', `/parts/${created.json.id}`, {
      ...newPart,
      name: 'Rear wiper blade',
    });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json.name, 'Rear wiper blade');
    assert.equal((await call(as.bob, 'GET', `/parts/${created.json.id}`)).json.name, 'Rear wiper blade');
    assert.equal((await call(as.carol, 'DELETE', `/parts/${created.json.id}`)).status, 204);
    const gone = await call(as.bob, 'GET', `/parts/${created.json.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error, 'PC_NOT_FOUND');
  });

  test('a malformed or duplicate part is refused with its code and changes nothing', async () => {
    const before = (await call(as.carol, 'GET', '/parts')).json.parts.length;
    const invalid = await call(as.carol, 'POST', '/parts', { ...newPart, number: 'lower case' });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error, 'PC_BODY_INVALID');
    const extra = await call(as.carol, 'POST', '/parts', { ...newPart, owner: 'x' });
    assert.equal(extra.status, 400);
    assert.equal(extra.json.error, 'PC_BODY_INVALID');
    const duplicate = await call(as.carol, 'POST', '/parts', { ...newPart, number: 'BRK-1001' });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.json.error, 'PC_PART_NUMBER_TAKEN');
    const badId = await call(as.carol, 'PUT', '/parts/1%20or%201=1', newPart);
    assert.equal(badId.status, 400);
    assert.equal(badId.json.error, 'PC_ID_INVALID');
    assert.equal((await call(as.carol, 'GET', '/parts')).json.parts.length, before);
  });

  test('bob edits his own survey, cannot edit or delete alice’s, and alice (admin) edits and deletes his', async () => {
    const bobs = await call(as.bob, 'POST', '/surveys', {
      title: 'Fitment feedback',
      questions: ['Did it fit?'],
    });
    assert.equal(bobs.status, 201);
    assert.equal(bobs.json.ownerName, 'bob');
    const alices = await call(as.alice, 'POST', '/surveys', {
      title: 'Photo quality',
      questions: ['Sharp?'],
    });
    assert.equal(alices.status, 201);

    const own = await call(as.bob, 'PUT', `/surveys/${bobs.json.id}`, {
      title: 'Fitment feedback v2',
      questions: ['Did it fit?', 'Any noise?'],
    });
    assert.equal(own.status, 200);
    assert.deepEqual(own.json.questions, ['Did it fit?', 'Any noise?']);

    const edit = await call(as.bob, 'PUT', `/surveys/${alices.json.id}`, {
      title: 'mine now',
      questions: ['?'],
    });
    // The gateway's permission policy refuses first; the service would too (PC_NOT_OWNER, below).
    assert.equal(edit.status, 403);
    assert.equal(edit.json.error, 'GW_PERMISSION_DENIED');
    const remove = await call(as.bob, 'DELETE', `/surveys/${alices.json.id}`);
    assert.equal(remove.status, 403);
    assert.equal(remove.json.error, 'GW_PERMISSION_DENIED');
    const survey = stack.handle.services.find((x) => x.name === 'mw-survey')!.url;
    const direct = await fetch(`${survey}/surveys/${alices.json.id}`, { method: 'DELETE', headers: as.bob });
    assert.equal(direct.status, 403);
    assert.equal(((await direct.json()) as { error: string }).error, 'PC_NOT_OWNER');
    assert.equal((await call(as.bob, 'GET', `/surveys/${alices.json.id}`)).json.title, 'Photo quality');
    const carol = await call(as.carol, 'PUT', `/surveys/${bobs.json.id}`, { title: 'x', questions: ['y'] });
    assert.equal(carol.status, 403, 'an editor is not an admin');

    const admin = await call(as.alice, 'PUT', `/surveys/${bobs.json.id}`, {
      title: 'Reviewed',
      questions: ['Fit?'],
    });
    assert.equal(admin.status, 200);
    assert.equal(admin.json.title, 'Reviewed');
    assert.equal(admin.json.ownerName, 'bob', 'an admin edit keeps the owner');
    assert.equal((await call(as.alice, 'DELETE', `/surveys/${bobs.json.id}`)).status, 204);
    const gone = await call(as.bob, 'GET', `/surveys/${bobs.json.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error, 'PC_NOT_FOUND');
    // Deleting the survey took its ownership out of the store: nobody holds can_edit on it any more.
    const authz = createAuthz({ sql: stack.sql });
    const [store] = (await authz.listStores({ name: PARTSCODER_STORE.name })).stores;
    const { tuples } = await authz.read(store!.id, { tupleKey: { object: `survey:${bobs.json.id}` } });
    assert.deepEqual(tuples, []);
    const listed = await call(as.bob, 'GET', '/surveys');
    assert.deepEqual(
      listed.json.surveys.map((s: { title: string }) => s.title),
      ['Photo quality'],
    );
  });

  test('an admin of the organization granted in the store edits any survey within a second; revoked, no more', async () => {
    const alices = await call(as.alice, 'POST', '/surveys', { title: 'Delivery', questions: ['On time?'] });
    assert.equal(alices.status, 201);
    const authz = createAuthz({ sql: stack.sql });
    const [store] = (await authz.listStores({ name: PARTSCODER_STORE.name })).stores;
    const carolAdmin = { user: 'user:carol', relation: 'admin', object: 'organization:partscoder' };
    const edit = () =>
      call(as.carol, 'PUT', `/surveys/${alices.json.id}`, { title: 'Delivery', questions: ['?'] });
    assert.equal((await edit()).status, 403);
    const until = async (status: number) => {
      const since = performance.now();
      for (;;) {
        const asked = performance.now();
        if ((await edit()).status === status) return asked - since;
        assert.ok(performance.now() - since < 3000, `no ${status} within 3 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await authz.write(store!.id, { writes: { tupleKeys: [carolAdmin] } });
    const granted = await until(200);
    await authz.write(store!.id, { deletes: { tupleKeys: [carolAdmin] } });
    const revoked = await until(403);
    assert.ok(granted < 1000 && revoked < 1000, `granted after ${granted} ms, revoked after ${revoked} ms`);
  });

  test("the survey rule's store tests pass", async () => {
    const db = await openTestSql('pglite');
    try {
      await migrate(db.sql, [authzMigrations]);
      const file = fileURLToPath(new URL('../model/partscoder.fga.yaml', import.meta.url));
      const results = await runStoreTestFile(createAuthz({ sql: db.sql }), await readStoreTestFile(file));
      assert.ok(results.length >= 6);
      assert.deepEqual(
        results.filter((r) => !r.passed),
        [],
      );
    } finally {
      await db.cleanup();
    }
  });

  test('realm info is per user: each sees and changes only their own', async () => {
    const settings = await call(as.bob, 'PUT', '/realm-info/settings', { language: 'de', units: 'imperial' });
    assert.equal(settings.status, 200);
    const server = await call(bobBearer, 'POST', '/realm-info/servers', {
      name: 'bob-eu',
      url: 'https://parts-eu.example.com',
      region: 'eu-west',
    });
    assert.equal(server.status, 201);

    const bob = await call(as.bob, 'GET', '/realm-info');
    assert.equal(bob.status, 200);
    assert.equal(bob.json.username, 'bob');
    assert.deepEqual(bob.json.settings, { language: 'de', units: 'imperial' });
    assert.deepEqual(bob.json.servers, [
      { id: server.json.id, name: 'bob-eu', url: 'https://parts-eu.example.com', region: 'eu-west' },
    ]);

    const alice = await call(as.alice, 'GET', '/realm-info');
    assert.equal(alice.json.username, 'alice');
    assert.deepEqual(alice.json.settings, { language: 'en', units: 'metric', notifications: true });
    assert.deepEqual(alice.json.servers, []);
    const steal = await call(as.alice, 'DELETE', `/realm-info/servers/${server.json.id}`);
    assert.equal(steal.status, 404, 'another user’s server looks like no server at all');
    assert.equal(steal.json.error, 'PC_NOT_FOUND');
    assert.equal((await call(as.bob, 'GET', '/realm-info/servers')).json.servers.length, 1);
    assert.equal((await call(as.bob, 'DELETE', `/realm-info/servers/${server.json.id}`)).status, 204);
    assert.deepEqual((await call(as.bob, 'GET', '/realm-info/servers')).json.servers, []);
  });

  test('a service verifies the caller itself: a direct call without a token or with forged headers is 401', async () => {
    for (const service of stack.handle.services.filter((s) => s.name !== 'mw-dashboard')) {
      const url = `${service.url}${service.routes[0]}`;
      const bare = await fetch(url);
      assert.equal(bare.status, 401, service.name);
      const forged = await fetch(url, {
        headers: { 'x-user-id': 'alice', 'x-user-roles': 'admin,user,editor' },
      });
      assert.equal(forged.status, 401, service.name);
      assert.equal(((await forged.json()) as { error: string }).error, 'SDK_TOKEN_MISSING');
      const direct = await fetch(url, { headers: as.bob });
      assert.equal(direct.status, 200, `${service.name} accepts a verified session`);
    }
  });

  test('after signing out, the same session cookie is refused on every route', async () => {
    const session = { cookie: await sessionCookie(stack.publicUrl, 'bob', 'bob-password') };
    assert.equal((await call(session, 'GET', '/surveys')).status, 200);
    const logout = await fetch(`${stack.publicUrl}/authentication/logout`, {
      method: 'POST',
      headers: { ...session, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(logout.status, 204);
    for (const path of ['/dashboard', '/realm-info', '/parts', '/photo-guidelines', '/surveys']) {
      const res = await call(session, 'GET', path);
      assert.equal(res.status, 401, path);
      assert.equal(res.json.error, 'SDK_TOKEN_REVOKED', path);
    }
    assert.equal((await call(as.bob, 'GET', '/surveys')).status, 200, 'his other session is untouched');
  });

  test('every service answers its health check', async () => {
    for (const service of stack.handle.services) {
      const res = await fetch(`${service.url}${service.healthPath}`);
      assert.equal(res.status, 200, service.name);
      assert.deepEqual(await res.json(), { status: 'ok', service: service.name });
    }
  });
});
