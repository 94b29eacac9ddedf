import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Sql } from '@gatehouse/core';
import { type Authz, createAuthz, type TupleKey } from '../src/index.ts';

/** The engine's API on one SQL storage (engine.test.ts runs it on PGlite and PostgreSQL). */
export function engineSuite(
  name: string,
  open: () => Promise<{ sql: Sql; close(): Promise<void> }>,
  skip: false | string,
) {
  describe(name, { skip }, () => {
    let db: { sql: Sql; close(): Promise<void> };
    let authz: Authz;
    before(async () => {
      db = await open();
      authz = createAuthz({ sql: db.sql, limits: { maxTuplesPerWrite: 5, listObjectsMaxResults: 3 } });
    });
    after(() => db?.close());

    const docs = `model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define viewer: [user, group#member]
type doc
  relations
    define parent: [folder]
    define owner: [user]
    define blocked: [user]
    define editor: [user with in_office_hours] or owner
    define viewer: ([user, user:*] or editor or viewer from parent) but not blocked
condition in_office_hours(hour: int, start: int) {
  hour >= start && hour < 18
}
`;
    async function storeWithModel(): Promise<{ storeId: string; modelId: string }> {
      const store = await authz.createStore({ name: 'engine suite' });
      const { authorizationModelId } = await authz.writeAuthorizationModel(store.id, { dsl: docs });
      return { storeId: store.id, modelId: authorizationModelId };
    }
    const t = (
      object: string,
      relation: string,
      user: string,
      condition?: TupleKey['condition'],
    ): TupleKey => ({
      object,
      relation,
      user,
      ...(condition ? { condition } : {}),
    });
    const code = (c: string) => (err: { code?: string }) => {
      assert.equal(err.code, c);
      return true;
    };

    test('a limit that is unknown or not a positive integer is refused at start', () => {
      assert.throws(
        () => createAuthz({ sql: db.sql, limits: { maxResolutionDepth: 0 } }),
        /positive integer/,
      );
      assert.throws(
        () => createAuthz({ sql: db.sql, limits: { maxDepth: 5 } as never }),
        /unknown authz limit/,
      );
    });

    test('stores are created, read, listed page by page and deleted', async () => {
      const a = await authz.createStore({ name: 'list-me one' });
      const b = await authz.createStore({ name: 'list-me two' });
      assert.equal((await authz.getStore(a.id)).name, 'list-me one');
      const first = await authz.listStores({ pageSize: 1, name: 'list-me two' });
      assert.deepEqual(
        first.stores.map((s) => s.id),
        [b.id],
      );
      await authz.deleteStore(a.id);
      await assert.rejects(authz.getStore(a.id), code('AUTHZ_STORE_NOT_FOUND'));
      await assert.rejects(authz.createStore({ name: 'x' }), code('AUTHZ_VALIDATION'));
      await assert.rejects(authz.getStore('not-a-store-id'), code('AUTHZ_VALIDATION'));
    });

    test('models are immutable versions: read by id, listed newest first, the newest used by default', async () => {
      const { storeId, modelId } = await storeWithModel();
      const second = await authz.writeAuthorizationModel(storeId, {
        dsl: 'model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user]\n',
      });
      const listed = await authz.readAuthorizationModels(storeId);
      assert.deepEqual(
        listed.authorizationModels.map((m) => m.id),
        [second.authorizationModelId, modelId],
      );
      assert.equal((await authz.readAuthorizationModel(storeId, modelId)).type_definitions.length, 4);
      await assert.rejects(
        authz.readAuthorizationModel(storeId, '01ARZ3NDEKTSV4RRFFQ69G5FAV'),
        code('AUTHZ_MODEL_NOT_FOUND'),
      );
      // The newest model has no doc#owner: a check on it is a validation error.
      await assert.rejects(
        authz.check(storeId, { tupleKey: { object: 'doc:1', relation: 'owner', user: 'user:anne' } }),
        code('AUTHZ_VALIDATION'),
      );
      const empty = await authz.createStore({ name: 'no model yet' });
      await assert.rejects(
        authz.check(empty.id, { tupleKey: { object: 'doc:1', relation: 'viewer', user: 'user:anne' } }),
        code('AUTHZ_LATEST_MODEL_NOT_FOUND'),
      );
    });

    test('an invalid model is refused and nothing is stored', async () => {
      const store = await authz.createStore({ name: 'bad model' });
      await assert.rejects(
        authz.writeAuthorizationModel(store.id, {
          dsl: 'model\n  schema 1.1\ntype doc\n  relations\n    define v: [nobody]\n',
        }),
        code('AUTHZ_INVALID_MODEL'),
      );
      const small = createAuthz({ sql: db.sql, limits: { maxModelBytes: 200 } });
      await assert.rejects(
        small.writeAuthorizationModel(store.id, { dsl: docs }),
        code('AUTHZ_MODEL_TOO_LARGE'),
      );
      assert.deepEqual((await authz.readAuthorizationModels(store.id)).authorizationModels, []);
    });

    test('writing an existing tuple or deleting a missing one fails unless asked to ignore it', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, { writes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] } });
      await assert.rejects(
        authz.write(storeId, { writes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] } }),
        code('AUTHZ_WRITE_CONFLICT'),
      );
      await authz.write(storeId, {
        writes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')], onDuplicate: 'ignore' },
      });
      await assert.rejects(
        authz.write(storeId, { deletes: { tupleKeys: [t('doc:1', 'owner', 'user:bob')] } }),
        code('AUTHZ_WRITE_CONFLICT'),
      );
      await authz.write(storeId, {
        deletes: { tupleKeys: [t('doc:1', 'owner', 'user:bob')], onMissing: 'ignore' },
      });
    });

    test('a write is all or nothing: one conflict leaves every tuple of it unwritten', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, { writes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] } });
      await assert.rejects(
        authz.write(storeId, {
          writes: { tupleKeys: [t('doc:2', 'owner', 'user:anne'), t('doc:1', 'owner', 'user:anne')] },
        }),
        code('AUTHZ_WRITE_CONFLICT'),
      );
      const read = await authz.read(storeId, { tupleKey: { object: 'doc:2' } });
      assert.deepEqual(read.tuples, []);
    });

    test('bad writes are refused case by case', async () => {
      const { storeId } = await storeWithModel();
      const cases: [TupleKey, string][] = [
        [t('doc:1', 'owner', 'group:eng#member'), 'AUTHZ_INVALID_TUPLE'], // not an allowed type restriction
        [t('doc:1', 'nope', 'user:anne'), 'AUTHZ_INVALID_TUPLE'], // unknown relation
        [t('nothing:1', 'owner', 'user:anne'), 'AUTHZ_INVALID_TUPLE'], // unknown type
        [t('doc:1', 'parent', 'folder:*'), 'AUTHZ_INVALID_TUPLE'], // wildcard on a tupleset
        [t('doc 1', 'owner', 'user:anne'), 'AUTHZ_INVALID_TUPLE'], // malformed object
        [t('doc:1', 'editor', 'user:anne', { name: 'no_such_condition' }), 'AUTHZ_INVALID_TUPLE'],
        [
          t('doc:1', 'editor', 'user:anne', { name: 'in_office_hours', context: { nope: 1 } }),
          'AUTHZ_INVALID_TUPLE',
        ],
        [
          t('doc:1', 'editor', 'user:anne', { name: 'in_office_hours', context: { start: 'nine' } }),
          'AUTHZ_INVALID_TUPLE',
        ],
        [t('doc:1', 'editor', 'user:anne'), 'AUTHZ_INVALID_TUPLE'], // the restriction needs its condition
      ];
      for (const [key, expected] of cases) {
        await assert.rejects(
          authz.write(storeId, { writes: { tupleKeys: [key] } }),
          code(expected),
          JSON.stringify(key),
        );
      }
      await assert.rejects(authz.write(storeId, {}), code('AUTHZ_VALIDATION'));
      const six = [1, 2, 3, 4, 5, 6].map((i) => t(`doc:${i}`, 'owner', 'user:anne'));
      await assert.rejects(
        authz.write(storeId, { writes: { tupleKeys: six } }),
        code('AUTHZ_TOO_MANY_TUPLES'),
      );
      await assert.rejects(
        authz.write(storeId, {
          writes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] },
          deletes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] },
        }),
        code('AUTHZ_DUPLICATE_TUPLE_IN_REQUEST'),
      );
      assert.deepEqual((await authz.read(storeId)).tuples, []);
    });

    test('read pages through tuples with a continuation token bound to its filter', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, {
        writes: { tupleKeys: ['a', 'b', 'c', 'd', 'e'].map((u) => t('doc:1', 'owner', `user:${u}`)) },
      });
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await authz.read(storeId, {
          tupleKey: { object: 'doc:1' },
          pageSize: 2,
          continuationToken: token,
        });
        seen.push(...page.tuples.map((x) => x.key.user));
        token = page.continuationToken || undefined;
      } while (token);
      assert.deepEqual(seen, ['user:a', 'user:b', 'user:c', 'user:d', 'user:e']);
      const page = await authz.read(storeId, { tupleKey: { object: 'doc:1' }, pageSize: 2 });
      await assert.rejects(
        authz.read(storeId, { tupleKey: { object: 'doc:2' }, continuationToken: page.continuationToken }),
        code('AUTHZ_INVALID_CONTINUATION_TOKEN'),
      );
      await assert.rejects(
        authz.read(storeId, { continuationToken: 'garbage!' }),
        code('AUTHZ_INVALID_CONTINUATION_TOKEN'),
      );
      await assert.rejects(authz.read(storeId, { pageSize: 101 }), code('AUTHZ_VALIDATION'));
    });

    test('read changes lists writes and deletes in order and can be polled with its token', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, { writes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] } });
      await authz.write(storeId, { writes: { tupleKeys: [t('folder:x', 'viewer', 'user:bob')] } });
      await authz.write(storeId, { deletes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] } });
      const all = await authz.readChanges(storeId);
      assert.deepEqual(
        all.changes.map(
          (c) => `${c.operation} ${c.tupleKey.object}#${c.tupleKey.relation}@${c.tupleKey.user}`,
        ),
        ['write doc:1#owner@user:anne', 'write folder:x#viewer@user:bob', 'delete doc:1#owner@user:anne'],
      );
      const docsOnly = await authz.readChanges(storeId, { type: 'doc' });
      assert.equal(docsOnly.changes.length, 2);
      const idle = await authz.readChanges(storeId, { continuationToken: all.continuationToken });
      assert.deepEqual(idle.changes, []);
      assert.equal(idle.continuationToken, all.continuationToken);
      await authz.write(storeId, { writes: { tupleKeys: [t('doc:2', 'owner', 'user:cy')] } });
      const next = await authz.readChanges(storeId, { continuationToken: idle.continuationToken });
      assert.deepEqual(
        next.changes.map((c) => c.tupleKey.user),
        ['user:cy'],
      );
    });

    test('a write returns a consistency token a check may ask to be as fresh as; a foreign one is refused', async () => {
      const { storeId } = await storeWithModel();
      const other = await storeWithModel();
      const { consistencyToken } = await authz.write(storeId, {
        writes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] },
      });
      const request = {
        tupleKey: { object: 'doc:1', relation: 'viewer', user: 'user:anne' },
        consistencyToken,
      };
      assert.deepEqual(await authz.check(storeId, request), { allowed: true });
      await assert.rejects(authz.check(other.storeId, request), code('AUTHZ_INVALID_CONSISTENCY_TOKEN'));
      await assert.rejects(
        authz.check(storeId, { ...request, consistencyToken: 'bm90LWEtdG9rZW4' }),
        code('AUTHZ_INVALID_CONSISTENCY_TOKEN'),
      );
    });

    test('check follows groups, parents, wildcards and exclusion', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, {
        writes: {
          tupleKeys: [
            t('group:eng', 'member', 'user:anne'),
            t('group:all', 'member', 'group:eng#member'),
            t('folder:x', 'viewer', 'group:all#member'),
            t('doc:1', 'parent', 'folder:x'),
            t('doc:1', 'blocked', 'user:bob'),
          ],
        },
      });
      await authz.write(storeId, {
        writes: { tupleKeys: [t('doc:2', 'viewer', 'user:*'), t('doc:2', 'blocked', 'user:bob')] },
      });
      const check = (object: string, user: string) =>
        authz.check(storeId, { tupleKey: { object, relation: 'viewer', user } }).then((r) => r.allowed);
      assert.equal(await check('doc:1', 'user:anne'), true);
      assert.equal(await check('doc:1', 'user:cy'), false);
      assert.equal(await check('doc:2', 'user:cy'), true);
      assert.equal(await check('doc:2', 'user:bob'), false);
      assert.deepEqual(
        (
          await authz.listObjects(storeId, { type: 'doc', relation: 'viewer', user: 'user:anne' })
        ).objects.sort(),
        ['doc:1', 'doc:2'],
      );
      assert.deepEqual(
        (
          await authz.listUsers(storeId, {
            object: { type: 'doc', id: '1' },
            relation: 'viewer',
            userFilters: [{ type: 'user' }],
          })
        ).users,
        ['user:anne'],
      );
    });

    test('contextual tuples count for one request only and are validated like writes', async () => {
      const { storeId } = await storeWithModel();
      const request = {
        tupleKey: { object: 'doc:1', relation: 'viewer', user: 'user:anne' },
        contextualTuples: [t('doc:1', 'owner', 'user:anne')],
      };
      assert.deepEqual(await authz.check(storeId, request), { allowed: true });
      assert.deepEqual(await authz.check(storeId, { tupleKey: request.tupleKey }), { allowed: false });
      await assert.rejects(
        authz.check(storeId, { ...request, contextualTuples: [t('doc:1', 'owner', 'group:x#member')] }),
        code('AUTHZ_INVALID_TUPLE'),
      );
    });

    test('conditions: the tuple context merges over the request context; missing parameters are an error', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, {
        writes: {
          tupleKeys: [t('doc:1', 'editor', 'user:anne', { name: 'in_office_hours', context: { start: 9 } })],
        },
      });
      const check = (context?: Record<string, unknown>) =>
        authz.check(storeId, {
          tupleKey: { object: 'doc:1', relation: 'editor', user: 'user:anne' },
          context,
        });
      assert.deepEqual(await check({ hour: 10 }), { allowed: true });
      assert.deepEqual(await check({ hour: 20 }), { allowed: false });
      // The tuple's start (9) wins over the request's.
      assert.deepEqual(await check({ hour: 8, start: 7 }), { allowed: false });
      await assert.rejects(check({}), (err: { code: string; message: string }) => {
        assert.equal(err.code, 'AUTHZ_CONDITION_MISSING_PARAMETERS');
        assert.match(err.message, /missing parameters 'hour'/);
        return true;
      });
      await assert.rejects(check({ hour: 'ten' }), code('AUTHZ_CONDITION_INVALID'));
      await assert.rejects(check({ hour: 1.5 }), code('AUTHZ_CONDITION_INVALID'));
      await assert.rejects(
        authz.check(storeId, {
          tupleKey: { object: 'doc:1', relation: 'editor', user: 'user:anne' },
          context: [] as never,
        }),
        code('AUTHZ_VALIDATION'),
      );
    });

    test('a condition beyond the cost limit is refused', async () => {
      const store = await authz.createStore({ name: 'costly condition' });
      await authz.writeAuthorizationModel(store.id, {
        dsl: `model
  schema 1.1
type user
type doc
  relations
    define viewer: [user with big]
condition big(xs: list<int>) {
  xs.all(x, xs.all(y, x + y > 0))
}
`,
      });
      await authz.write(store.id, {
        writes: { tupleKeys: [t('doc:1', 'viewer', 'user:anne', { name: 'big' })] },
      });
      const check = (xs: number[]) =>
        authz.check(store.id, {
          tupleKey: { object: 'doc:1', relation: 'viewer', user: 'user:anne' },
          context: { xs },
        });
      assert.deepEqual(await check([1, 2]), { allowed: true });
      await assert.rejects(
        check(Array.from({ length: 200 }, (_, i) => i + 1)),
        code('AUTHZ_CONDITION_COST_EXCEEDED'),
      );
    });

    test('nesting deeper than the limit fails with AUTHZ_RESOLUTION_TOO_COMPLEX; a cycle is false', async () => {
      const { storeId } = await storeWithModel();
      const shallow = createAuthz({ sql: db.sql, limits: { maxResolutionDepth: 3 } });
      await authz.write(storeId, {
        writes: {
          tupleKeys: [
            t('group:1', 'member', 'user:anne'),
            t('group:2', 'member', 'group:1#member'),
            t('group:3', 'member', 'group:2#member'),
            t('group:4', 'member', 'group:3#member'),
            t('group:a', 'member', 'group:b#member'),
          ],
        },
      });
      await authz.write(storeId, { writes: { tupleKeys: [t('group:b', 'member', 'group:a#member')] } });
      const request = { tupleKey: { object: 'group:4', relation: 'member', user: 'user:anne' } };
      assert.deepEqual(await authz.check(storeId, request), { allowed: true });
      await assert.rejects(shallow.check(storeId, request), code('AUTHZ_RESOLUTION_TOO_COMPLEX'));
      assert.deepEqual(
        await authz.check(storeId, {
          tupleKey: { object: 'group:a', relation: 'member', user: 'user:anne' },
        }),
        { allowed: false },
      );
    });

    test('list objects stops at its configured maximum', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, {
        writes: { tupleKeys: [1, 2, 3, 4, 5].map((i) => t(`doc:${i}`, 'owner', 'user:anne')) },
      });
      const { objects } = await authz.listObjects(storeId, {
        type: 'doc',
        relation: 'viewer',
        user: 'user:anne',
      });
      assert.equal(objects.length, 3);
      await assert.rejects(
        authz.listObjects(storeId, { type: 'nothing', relation: 'viewer', user: 'user:anne' }),
        code('AUTHZ_TYPE_NOT_FOUND'),
      );
      await assert.rejects(
        authz.listObjects(storeId, { type: 'doc', relation: 'nothing', user: 'user:anne' }),
        code('AUTHZ_RELATION_NOT_FOUND'),
      );
    });

    test('check and list objects run a bounded number of statements however many other tuples the store holds', async () => {
      const { storeId } = await storeWithModel();
      for (let i = 0; i < 40; i++) {
        await authz.write(storeId, {
          writes: {
            tupleKeys: [1, 2, 3, 4, 5].map((j) => t(`doc:${i}-${j}`, 'owner', `user:other-${i}-${j}`)),
          },
        });
      }
      await authz.write(storeId, {
        writes: {
          tupleKeys: [t('group:eng', 'member', 'user:anne'), t('folder:x', 'viewer', 'group:eng#member')],
        },
      });
      await authz.write(storeId, { writes: { tupleKeys: [t('doc:mine', 'parent', 'folder:x')] } });
      let statements = 0;
      const counted: Sql = {
        driver: db.sql.driver,
        query: (text, params) => {
          statements++;
          return db.sql.query(text, params);
        },
        transaction: (fn) => db.sql.transaction(fn),
        ping: () => db.sql.ping(),
        close: () => db.sql.close(),
      };
      const measured = createAuthz({ sql: counted });
      const { objects } = await measured.listObjects(storeId, {
        type: 'doc',
        relation: 'viewer',
        user: 'user:anne',
      });
      assert.deepEqual(objects, ['doc:mine']);
      assert.ok(statements <= 20, `list objects ran ${statements} statements`);
      statements = 0;
      const { allowed } = await measured.check(storeId, {
        tupleKey: { object: 'doc:mine', relation: 'viewer', user: 'user:anne' },
      });
      assert.equal(allowed, true);
      assert.ok(statements <= 12, `check ran ${statements} statements`);
    });

    /** An engine on the suite's database that counts the statements it sends (outside transactions). */
    function countingAuthz(limits?: { maxTuplesPerWrite: number }): { authz: Authz; statements(): number } {
      let statements = 0;
      const counted: Sql = {
        driver: db.sql.driver,
        query: (text, params) => {
          statements++;
          return db.sql.query(text, params);
        },
        transaction: (fn) =>
          db.sql.transaction((tx) =>
            fn({
              query: (text, params) => {
                statements++;
                return tx.query(text, params);
              },
            }),
          ),
        ping: () => db.sql.ping(),
        close: () => db.sql.close(),
      };
      return {
        authz: createAuthz({ sql: counted, ...(limits ? { limits } : {}) }),
        statements: () => statements,
      };
    }

    test('a parent chain and nested groups are read in one statement each, with the same answers', async () => {
      const store = await authz.createStore({ name: 'chain' });
      await authz.writeAuthorizationModel(store.id, {
        dsl: `model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define parent: [folder, folder with open]
    define viewer: [user, group#member] or viewer from parent
condition open(open: bool) {
  open
}
`,
      });
      const chain = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, i) =>
          t(`folder:f${from + i + 1}`, 'parent', `folder:f${from + i}`),
        );
      const writes = [
        ...chain(0, 30),
        t('folder:f0', 'viewer', 'user:anne'),
        t('folder:c1', 'parent', 'folder:c2'),
        t('folder:c2', 'parent', 'folder:c1'),
        ...Array.from({ length: 10 }, (_, i) => t(`group:g${i + 1}`, 'member', `group:g${i}#member`)),
        t('group:g0', 'member', 'user:carl'),
        t('folder:f15', 'viewer', 'group:g10#member'),
      ];
      for (let i = 0; i < writes.length; i += 5) {
        await authz.write(store.id, { writes: { tupleKeys: writes.slice(i, i + 5) } });
      }
      await authz.write(store.id, {
        writes: { tupleKeys: [{ ...t('folder:x1', 'parent', 'folder:x0'), condition: { name: 'open' } }] },
        deletes: { tupleKeys: [] },
      });
      await authz.write(store.id, { writes: { tupleKeys: [t('folder:x0', 'parent', 'folder:f3')] } });
      const counting = countingAuthz();
      const check = (object: string, user: string, more: Record<string, unknown> = {}) =>
        counting.authz.check(store.id, { tupleKey: { object, relation: 'viewer', user }, ...more });
      const statementsOf = async (run: () => Promise<unknown>) => {
        const before = counting.statements();
        await run();
        return counting.statements() - before;
      };
      // 20 folders up, then 10 nested groups: the model, the first folder's reads, the chain, the groups.
      let denied = 0;
      let allowed = 0;
      denied = await statementsOf(async () =>
        assert.deepEqual(await check('folder:f20', 'user:bob'), { allowed: false }),
      );
      assert.ok(denied <= 8, `a denied check up 20 folders read ${denied} statements`);
      allowed = await statementsOf(async () =>
        assert.deepEqual(await check('folder:f20', 'user:carl'), { allowed: true }),
      );
      assert.ok(
        allowed <= 10,
        `an allowed check through 20 folders and 10 groups read ${allowed} statements`,
      );
      assert.deepEqual(await check('folder:f20', 'user:anne'), { allowed: true });
      // The depth limit counts the levels walked, not the statements read.
      await assert.rejects(check('folder:f30', 'user:bob'), code('AUTHZ_RESOLUTION_TOO_COMPLEX'));
      assert.deepEqual(await check('folder:c1', 'user:bob'), { allowed: false });
      // A condition on an edge inside the chain holds or cuts it.
      assert.deepEqual(await check('folder:x1', 'user:anne', { context: { open: true } }), { allowed: true });
      assert.deepEqual(await check('folder:x1', 'user:anne', { context: { open: false } }), {
        allowed: false,
      });
      // Contextual tuples join the chain: an edge off it, and a viewer on one of its folders.
      assert.deepEqual(
        await check('folder:y1', 'user:anne', {
          contextualTuples: [t('folder:y1', 'parent', 'folder:f4')],
        }),
        { allowed: true },
      );
      assert.deepEqual(
        await check('folder:f9', 'user:dora', {
          contextualTuples: [t('folder:f5', 'viewer', 'user:dora')],
        }),
        { allowed: true },
      );
      assert.deepEqual(await check('folder:f9', 'user:dora'), { allowed: false });
      // A cycle of nested groups is false.
      await authz.write(store.id, { writes: { tupleKeys: [t('group:g0', 'member', 'group:g10#member')] } });
      assert.deepEqual(await check('folder:f20', 'user:bob'), { allowed: false });
      assert.deepEqual(await check('folder:f20', 'user:carl'), { allowed: true });
    });

    test('the relations of one object asked together are read in one statement, with the same answers', async () => {
      const store = await authz.createStore({ name: 'batch' });
      await authz.writeAuthorizationModel(store.id, {
        dsl: `model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define parent: [folder]
    define owner: [user]
    define editor: [user, group#member] or owner or editor from parent
    define viewer: [user, user:*, group#member, user with open] or editor or viewer from parent
type document
  relations
    define parent: [folder]
    define owner: [user]
    define editor: [user, group#member] or owner or editor from parent
    define viewer: [user, user:*, group#member, user with open] or editor or viewer from parent
condition open(open: bool) {
  open
}
`,
      });
      const writes = [
        t('document:d1', 'owner', 'user:anne'),
        t('document:d1', 'parent', 'folder:f1'),
        t('folder:f1', 'parent', 'folder:f0'),
        t('folder:f1', 'viewer', 'group:eng#member'),
        t('group:eng', 'member', 'user:bob'),
        t('folder:f0', 'editor', 'user:erin'),
        t('document:d2', 'viewer', 'user:*'),
        t('document:d3', 'viewer', 'user:carl', { name: 'open' }),
      ];
      for (let i = 0; i < writes.length; i += 5) {
        await authz.write(store.id, { writes: { tupleKeys: writes.slice(i, i + 5) } });
      }
      const counting = countingAuthz();
      const check = (object: string, relation: string, user: string, more: Record<string, unknown> = {}) =>
        counting.authz
          .check(store.id, { tupleKey: { object, relation, user }, ...more })
          .then((r) => r.allowed);
      assert.equal(await check('document:d1', 'viewer', 'user:anne'), true);
      // The model's id, the document's four relations, the folder chain (with the first folder's
      // relations), the group: one statement each.
      const before = counting.statements();
      assert.equal(await check('document:d1', 'viewer', 'user:zed'), false);
      const denied = counting.statements() - before;
      assert.ok(denied <= 4, `a denied check through two folders and a group read ${denied} statements`);
      assert.equal(await check('document:d1', 'viewer', 'user:anne'), true);
      assert.equal(await check('document:d1', 'editor', 'user:anne'), true);
      assert.equal(await check('document:d1', 'viewer', 'user:bob'), true);
      assert.equal(await check('document:d1', 'editor', 'user:bob'), false);
      assert.equal(await check('document:d1', 'editor', 'user:erin'), true);
      assert.equal(await check('document:d1', 'viewer', 'group:eng#member'), true);
      assert.equal(await check('document:d1', 'editor', 'group:eng#member'), false);
      assert.equal(await check('document:d2', 'viewer', 'user:zed'), true);
      assert.equal(await check('document:d2', 'editor', 'user:zed'), false);
      assert.equal(await check('document:d3', 'viewer', 'user:carl', { context: { open: true } }), true);
      assert.equal(await check('document:d3', 'viewer', 'user:carl', { context: { open: false } }), false);
      // Contextual tuples join the batched reads: a viewer, an owner, a parent.
      assert.equal(
        await check('document:d2', 'editor', 'user:zed', {
          contextualTuples: [t('document:d2', 'owner', 'user:zed')],
        }),
        true,
      );
      assert.equal(
        await check('document:d3', 'viewer', 'user:bob', {
          contextualTuples: [t('document:d3', 'parent', 'folder:f1')],
        }),
        true,
      );
      assert.equal(
        await check('document:d1', 'viewer', 'user:zed', {
          contextualTuples: [t('folder:f1', 'viewer', 'user:zed')],
        }),
        true,
      );
      assert.equal(
        await check('document:d1', 'editor', 'user:zed', {
          contextualTuples: [t('document:d1', 'viewer', 'user:zed')],
        }),
        false,
      );
    });

    test('a large write is a few statements, records its changes in order, and names the first conflict', async () => {
      const { storeId } = await storeWithModel();
      const bulk = countingAuthz({ maxTuplesPerWrite: 300 });
      const keys = Array.from({ length: 250 }, (_, i) => t(`doc:${i}`, 'owner', `user:u${249 - i}`));
      await bulk.authz.write(storeId, { writes: { tupleKeys: keys } });
      assert.ok(bulk.statements() <= 8, `a write of 250 tuples ran ${bulk.statements()} statements`);
      const changes = await authz.readChanges(storeId, { pageSize: 100 });
      assert.deepEqual(
        changes.changes.map((c) => c.tupleKey.object),
        keys.slice(0, 100).map((k) => k.object),
      );
      const more = [t('doc:new', 'owner', 'user:x'), keys[7]!, keys[3]!];
      await assert.rejects(bulk.authz.write(storeId, { writes: { tupleKeys: more } }), (err: Error) => {
        assert.equal((err as { code?: string }).code, 'AUTHZ_WRITE_CONFLICT');
        assert.match(err.message, /user: 'user:u242', relation: 'owner', object: 'doc:7'/);
        return true;
      });
      assert.deepEqual((await authz.read(storeId, { tupleKey: { object: 'doc:new' } })).tuples, []);
      const office = (start: number) =>
        t('doc:c', 'editor', 'user:anne', { name: 'in_office_hours', context: { start } });
      await authz.write(storeId, { writes: { tupleKeys: [office(9)] } });
      await authz.write(storeId, { writes: { tupleKeys: [office(9)], onDuplicate: 'ignore' } });
      await assert.rejects(
        authz.write(storeId, { writes: { tupleKeys: [office(10)], onDuplicate: 'ignore' } }),
        code('AUTHZ_WRITE_CONFLICT'),
      );
    });

    test('batch check answers each check by correlation id, errors included', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, { writes: { tupleKeys: [t('doc:1', 'owner', 'user:anne')] } });
      const { result } = await authz.batchCheck(storeId, {
        checks: [
          { correlationId: 'a', tupleKey: { object: 'doc:1', relation: 'viewer', user: 'user:anne' } },
          { correlationId: 'b', tupleKey: { object: 'doc:1', relation: 'viewer', user: 'user:bob' } },
          { correlationId: 'c', tupleKey: { object: 'doc:1', relation: 'nope', user: 'user:bob' } },
        ],
      });
      assert.deepEqual(result['a'], { allowed: true });
      assert.deepEqual(result['b'], { allowed: false });
      assert.equal((result['c'] as { error: { openfga: string } }).error.openfga, 'validation_error');
    });

    test('expand shows one level of the relation with the tuples it reads', async () => {
      const { storeId } = await storeWithModel();
      await authz.write(storeId, {
        writes: { tupleKeys: [t('doc:1', 'parent', 'folder:x'), t('doc:1', 'viewer', 'user:anne')] },
      });
      const { tree } = await authz.expand(storeId, { tupleKey: { object: 'doc:1', relation: 'viewer' } });
      const base = tree.root.difference!.base.union!.nodes;
      assert.deepEqual(base[0]!.leaf, { users: { users: ['user:anne'] } });
      assert.deepEqual(base[1]!.leaf, { computed: { userset: 'doc:1#editor' } });
      assert.deepEqual(base[2]!.leaf, {
        tupleToUserset: { tupleset: 'doc:1#parent', computed: [{ userset: 'folder:x#viewer' }] },
      });
    });
  });
}
