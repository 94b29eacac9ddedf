import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Authz, createAuthz } from '@gatehouse/authz';
import { openSql, type Sql } from '@gatehouse/core';
import { skipUnlessService } from '@gatehouse/core/testing';
import { createPermissionClient, isSdkError, type PermissionClient } from '../src/index.ts';
import { type AuthzService, startAuthzService } from './support/authz-service.ts';

const tuples = [
  { object: 'group:eng', relation: 'member', user: 'user:anne' },
  { object: 'group:staff', relation: 'member', user: 'group:eng#member' },
  { object: 'folder:root', relation: 'viewer', user: 'group:staff#member' },
  { object: 'folder:plans', relation: 'parent', user: 'folder:root' },
  { object: 'document:roadmap', relation: 'parent', user: 'folder:plans' },
  { object: 'document:roadmap', relation: 'owner', user: 'user:carl' },
];
const anneViews = { user: 'user:anne', relation: 'viewer', object: 'document:roadmap' };
const anneInEng = { object: 'group:eng', relation: 'member', user: 'user:anne' };

/**
 * Polls until `check` says `expected` on every client; returns when the first round that said so was
 * asked (what a check asked then sees, not how long its answer took to come back on a busy machine).
 */
async function untilEveryone(
  clients: PermissionClient[],
  expected: boolean,
  limitMs: number,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const asked = performance.now();
    const answers = await Promise.all(clients.map((c) => c.check(anneViews)));
    if (answers.every((a) => a === expected)) return asked - started;
    if (performance.now() - started > limitMs) assert.fail(`still ${answers} after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('permission client over HTTP: two service replicas on one authz store', () => {
  let svc: AuthzService;
  let replicas: PermissionClient[];
  before(async () => {
    svc = await startAuthzService(tuples);
    // A feed read may take most of a second on a saturated machine: the cache is trusted 3 s after one.
    replicas = [0, 1].map(() =>
      createPermissionClient({ url: svc.url, store: 'drive', watch: { staleAfterMs: 3000 } }),
    );
    await Promise.all(replicas.map((r) => r.synced()));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await svc.close();
  });

  test('allows through nested groups and folders, then answers from the cache', async () => {
    for (const r of replicas) assert.equal(await r.check(anneViews), true);
    // Just after a read of the feed the cache is in step, however loaded the machine.
    await Promise.all(replicas.map((r) => r.synced()));
    const asked = svc.calls.get('check');
    for (const r of replicas) assert.equal(await r.check(anneViews), true);
    assert.equal(svc.calls.get('check'), asked, 'the second checks were answered locally');
  });

  test('denies a user who holds no relation, and caches the denial too', async () => {
    const q = { user: 'user:bob', relation: 'viewer', object: 'document:roadmap' };
    assert.equal(await replicas[0]!.check(q), false);
    await replicas[0]!.synced();
    const asked = svc.calls.get('check');
    assert.equal(await replicas[0]!.check(q), false);
    assert.equal(svc.calls.get('check'), asked);
  });

  test('a relationship removed far up the graph is denied within a second on both replicas', async () => {
    await untilEveryone(replicas, true, 1000);
    await svc.authz.write(svc.storeId, { deletes: { tupleKeys: [anneInEng] } });
    const tookMs = await untilEveryone(replicas, false, 1000);
    assert.ok(tookMs < 1000, `denied after ${tookMs} ms`);
  });

  test('a check with a write’s consistency token is answered as fresh as that write', async () => {
    await untilEveryone(replicas, false, 1000);
    const { consistencyToken } = await svc.authz.write(svc.storeId, { writes: { tupleKeys: [anneInEng] } });
    // No wait for the feed: the token makes the cache step aside.
    assert.equal(await replicas[1]!.check({ ...anneViews, consistencyToken }), true);
  });

  test('batchCheck answers in order and reports a refused question as not allowed with its error', async () => {
    const out = await replicas[0]!.batchCheck([
      { user: 'user:carl', relation: 'viewer', object: 'document:roadmap' },
      { user: 'user:bob', relation: 'viewer', object: 'document:roadmap' },
      { user: 'user:carl', relation: 'no_such_relation', object: 'document:roadmap' },
    ]);
    assert.deepEqual(out[0], { allowed: true });
    assert.deepEqual(out[1], { allowed: false });
    assert.equal(out[2]!.allowed, false);
    assert.ok('error' in out[2]!, 'an error is reported');
    assert.equal(out[2].error.code, 'validation_error');
  });

  test('listObjects lists what the user can reach', async () => {
    const objects = await replicas[0]!.listObjects({
      user: 'user:carl',
      relation: 'viewer',
      type: 'document',
    });
    assert.deepEqual(objects, ['document:roadmap']);
  });

  test('a question the engine refuses is SDK_PERMISSION_QUERY_INVALID (400)', async () => {
    await assert.rejects(
      replicas[0]!.check({ user: 'user:anne', relation: 'viewer', object: 'spaceship:1' }),
      (err: unknown) => isSdkError(err, 'SDK_PERMISSION_QUERY_INVALID') && err.status === 400,
    );
  });

  test('an unknown store name is SDK_PERMISSION_QUERY_INVALID', async () => {
    const c = createPermissionClient({ url: svc.url, store: 'no such store', cache: false });
    try {
      await assert.rejects(c.check(anneViews), (err: unknown) =>
        isSdkError(err, 'SDK_PERMISSION_QUERY_INVALID'),
      );
    } finally {
      await c.close();
    }
  });

  test('the engine down: cached decisions stop being served once the feed goes unread, checks fail closed (503)', async () => {
    const q = { user: 'user:carl', relation: 'viewer', object: 'document:roadmap' };
    assert.equal(await replicas[0]!.check(q), true);
    await svc.stop();
    const started = performance.now();
    let failed: unknown;
    while (performance.now() - started < 6000) {
      try {
        await replicas[0]!.check(q);
      } catch (err) {
        failed = err;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(isSdkError(failed, 'SDK_PERMISSION_UNAVAILABLE'), `got ${String(failed)}`);
    assert.equal((failed as { status: number }).status, 503);
  });
});

describe('permission client in-process: two replicas, each with its own engine on one PostgreSQL', {
  skip: await skipUnlessService('postgres'),
}, () => {
  let svc: AuthzService;
  let secondSql: Sql;
  let engines: Authz[];
  let replicas: PermissionClient[];
  before(async () => {
    svc = await startAuthzService(tuples, 'postgres');
    secondSql = await openSql({ driver: 'postgres', url: svc.db.url! });
    engines = [svc.authz, createAuthz({ sql: secondSql })];
    replicas = engines.map((backend) => createPermissionClient({ backend, store: svc.storeId }));
    await Promise.all(replicas.map((r) => r.synced()));
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await secondSql.close();
    await svc.close();
  });

  test('a relationship removed through one engine is denied within a second on both', async () => {
    await untilEveryone(replicas, true, 1000);
    await engines[1]!.write(svc.storeId, { deletes: { tupleKeys: [anneInEng] } });
    const tookMs = await untilEveryone(replicas, false, 1000);
    assert.ok(tookMs < 1000, `denied after ${tookMs} ms`);
  });

  test('a new model empties the cache too', async () => {
    const q = { user: 'user:carl', relation: 'viewer', object: 'document:roadmap' };
    assert.equal(await replicas[0]!.check(q), true);
    // The same types, but documents no longer inherit from owners.
    await svc.authz.writeAuthorizationModel(svc.storeId, {
      dsl: `model
  schema 1.1
type user
type client
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define parent: [folder]
    define viewer: [user, client, group#member] or viewer from parent
type document
  relations
    define parent: [folder]
    define owner: [user]
    define viewer: [user, group#member] or viewer from parent
`,
    });
    const started = performance.now();
    while ((await replicas[0]!.check(q)) && performance.now() - started < 1000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await replicas[0]!.check(q), false);
  });
});
