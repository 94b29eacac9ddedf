import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger, migrate } from '@gatehouse/core';
import { openTestSql, type TestSql, waitFor } from '@gatehouse/core/testing';
import { CredentialsMethod, FgaApiNotFoundError, FgaApiValidationError, OpenFgaClient } from '@openfga/sdk';
import { transformer } from '@openfga/syntax-transformer';
import { authzErrors, authzMigrations, createAuthz, createOpenfgaHandler } from '../src/index.ts';

// The OpenFGA HTTP API, driven by OpenFGA's official JavaScript SDK: it must work unchanged.
describe('OpenFGA HTTP API with @openfga/sdk', () => {
  let db: TestSql;
  let server: Server;
  let apiUrl: string;
  before(async () => {
    db = await openTestSql('pglite');
    await migrate(db.sql, [authzMigrations]);
    const handler = createOpenfgaHandler({ authz: createAuthz({ sql: db.sql }) });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.cleanup();
  });

  const model = `model
  schema 1.1
type user
type group
  relations
    define member: [user]
type document
  relations
    define owner: [user]
    define viewer: [user, group#member, user with before_expiry] or owner
condition before_expiry(now: timestamp, expires: timestamp) {
  now < expires
}
`;

  test('creates a store, writes a model and tuples, and checks, lists and reads through the SDK', async () => {
    const admin = new OpenFgaClient({ apiUrl, credentials: { method: CredentialsMethod.None } });
    const store = await admin.createStore({ name: 'sdk store' });
    assert.match(store.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    const fga = new OpenFgaClient({ apiUrl, storeId: store.id });
    const { authorization_model_id } = await fga.writeAuthorizationModel(
      transformer.transformDSLToJSONObject(model) as never,
    );
    assert.ok(authorization_model_id);
    await fga.write(
      {
        writes: [
          { user: 'user:anne', relation: 'owner', object: 'document:roadmap' },
          { user: 'user:bob', relation: 'member', object: 'group:eng' },
          { user: 'group:eng#member', relation: 'viewer', object: 'document:roadmap' },
          {
            user: 'user:cy',
            relation: 'viewer',
            object: 'document:roadmap',
            condition: { name: 'before_expiry', context: { expires: '2030-01-01T00:00:00Z' } },
          },
        ],
      },
      { authorizationModelId: authorization_model_id },
    );
    const check = async (user: string, context?: object) =>
      (
        await fga.check({
          user,
          relation: 'viewer',
          object: 'document:roadmap',
          ...(context ? { context } : {}),
        })
      ).allowed;
    assert.equal(await check('user:anne'), true);
    assert.equal(await check('user:bob'), true);
    assert.equal(await check('user:dan'), false);
    assert.equal(await check('user:cy', { now: '2029-06-01T00:00:00Z' }), true);
    assert.equal(await check('user:cy', { now: '2031-06-01T00:00:00Z' }), false);

    const objects = await fga.listObjects({ user: 'user:bob', relation: 'viewer', type: 'document' });
    assert.deepEqual(objects.objects, ['document:roadmap']);
    const streamed: string[] = [];
    for await (const item of fga.streamedListObjects({
      user: 'user:bob',
      relation: 'viewer',
      type: 'document',
    })) {
      streamed.push(item.object);
    }
    assert.deepEqual(streamed, ['document:roadmap']);
    const users = await fga.listUsers({
      object: { type: 'document', id: 'roadmap' },
      relation: 'viewer',
      user_filters: [{ type: 'group', relation: 'member' }],
    });
    assert.deepEqual(users.users, [{ userset: { type: 'group', id: 'eng', relation: 'member' } }]);
    const batch = await fga.batchCheck({
      checks: [
        { user: 'user:anne', relation: 'owner', object: 'document:roadmap', correlationId: 'one' },
        { user: 'user:bob', relation: 'owner', object: 'document:roadmap', correlationId: 'two' },
      ],
    });
    assert.deepEqual(batch.result.map((r) => [r.correlationId, r.allowed]).sort(), [
      ['one', true],
      ['two', false],
    ]);
    const read = await fga.read({ object: 'document:roadmap', relation: 'owner' });
    assert.deepEqual(
      read.tuples.map((t) => t.key.user),
      ['user:anne'],
    );
    const changes = await fga.readChanges({ type: 'document' });
    assert.equal(changes.changes.length, 3);
    assert.equal(changes.changes[0]?.operation, 'TUPLE_OPERATION_WRITE');
    const expanded = await fga.expand({ relation: 'owner', object: 'document:roadmap' });
    assert.deepEqual(expanded.tree?.root?.leaf?.users?.users, ['user:anne']);
    const latest = await fga.readLatestAuthorizationModel();
    assert.equal(latest.authorization_model?.id, authorization_model_id);
    await fga.deleteTuples([{ user: 'user:anne', relation: 'owner', object: 'document:roadmap' }]);
    assert.equal(await check('user:anne'), false);
  });

  test('errors come back in OpenFGA shape and the SDK reads them as its own error classes', async () => {
    const admin = new OpenFgaClient({ apiUrl });
    const store = await admin.createStore({ name: 'sdk errors' });
    const fga = new OpenFgaClient({ apiUrl, storeId: store.id });
    await fga.writeAuthorizationModel(transformer.transformDSLToJSONObject(model) as never);
    await assert.rejects(
      fga.write({ writes: [{ user: 'user:anne', relation: 'nope', object: 'document:1' }] }),
      (err: unknown) => {
        assert.ok(err instanceof FgaApiValidationError);
        assert.equal(err.statusCode, 400);
        assert.equal(err.apiErrorCode, 'invalid_tuple');
        return true;
      },
    );
    await assert.rejects(
      fga.check({ user: 'user:anne', relation: 'nope', object: 'document:1' }),
      (err: unknown) => {
        assert.ok(err instanceof FgaApiValidationError);
        assert.equal(err.apiErrorCode, 'validation_error');
        return true;
      },
    );
    const gone = new OpenFgaClient({ apiUrl, storeId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' });
    await assert.rejects(gone.getStore(), (err: unknown) => {
      assert.ok(err instanceof FgaApiNotFoundError);
      assert.equal(err.statusCode, 404);
      return true;
    });
  });

  test('the authorize hook refuses callers with OpenFGA error answers, and nothing changes', async () => {
    const refusing = createOpenfgaHandler({
      authz: createAuthz({ sql: db.sql }),
      authorize: (req, access) => {
        if (!req.headers.authorization) throw authzErrors.create('AUTHZ_UNAUTHENTICATED');
        if (access === 'write') throw authzErrors.create('AUTHZ_FORBIDDEN', 'this token may only read');
      },
    });
    const guarded = createServer((req, res) => void refusing(req, res));
    await new Promise<void>((resolve) => guarded.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(guarded.address() as AddressInfo).port}`;
    try {
      const before = ((await (await fetch(`${apiUrl}/stores?page_size=100`)).json()) as { stores: unknown[] })
        .stores;
      const anonymous = await fetch(`${url}/stores`, { method: 'POST', body: '{"name":"refused store"}' });
      assert.equal(anonymous.status, 401);
      assert.deepEqual(await anonymous.json(), {
        code: 'unauthenticated',
        message: 'The request needs a valid access token',
      });
      const reader = await fetch(`${url}/stores`, {
        method: 'POST',
        body: '{"name":"refused store"}',
        headers: { authorization: 'Bearer x' },
      });
      assert.equal(reader.status, 403);
      assert.deepEqual(await reader.json(), { code: 'forbidden', message: 'this token may only read' });
      const listed = await fetch(`${url}/stores?page_size=100`, { headers: { authorization: 'Bearer x' } });
      assert.equal(listed.status, 200);
      assert.equal(((await listed.json()) as { stores: unknown[] }).stores.length, before.length);
    } finally {
      await new Promise((resolve) => guarded.close(resolve));
    }
  });

  test('a refused request is logged with its OpenFGA code and status', async () => {
    const lines: Record<string, unknown>[] = [];
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
    });
    const logged = createOpenfgaHandler({
      authz: createAuthz({ sql: db.sql }),
      logger: createLogger({ level: 'info', destination: out }),
    });
    const server2 = createServer((req, res) => void logged(req, res));
    await new Promise<void>((resolve) => server2.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server2.address() as AddressInfo).port}`;
      const refused = await fetch(`${url}/stores`, { method: 'POST', body: '{"name":"x"}' });
      assert.equal(refused.status, 400);
      await waitFor(() => lines.length > 0, { what: 'the log line' });
      assert.equal(lines[0]?.['code'], 'validation_error');
      assert.equal(lines[0]?.['status'], 400);
      assert.equal(lines[0]?.['path'], '/stores');
    } finally {
      await new Promise((resolve) => server2.close(resolve));
    }
  });

  test('raw HTTP: unknown paths, wrong methods and bodies that are not JSON objects', async () => {
    const missing = await fetch(`${apiUrl}/nothing`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {
      code: 'undefined_endpoint',
      message: 'no endpoint at /nothing',
    });
    assert.equal((await fetch(`${apiUrl}/stores`, { method: 'PUT' })).status, 405);
    const badEscape = await fetch(`${apiUrl}/stores/%E0%A4%A`);
    assert.equal(badEscape.status, 400);
    assert.equal(((await badEscape.json()) as { code: string }).code, 'validation_error');
    const notJson = await fetch(`${apiUrl}/stores`, {
      method: 'POST',
      body: '{',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { code: string }).code, 'validation_error');
    const array = await fetch(`${apiUrl}/stores`, {
      method: 'POST',
      body: '[]',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(array.status, 400);
    const tooBig = await fetch(`${apiUrl}/stores`, {
      method: 'POST',
      body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(tooBig.status, 413);
  });
  test('extension: a model written as { dsl } answers a problem with its line and column, and reads back as DSL', async () => {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const store = await call('POST', '/stores', { name: 'dsl store' });
    const id = String(store.body['id']);
    const bad = await call('POST', `/stores/${id}/authorization-models`, {
      dsl: 'model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [usr]\n',
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body['code'], 'invalid_authorization_model');
    assert.match(String(bad.body['message']), /^line 6, column \d+: /);
    const good = await call('POST', `/stores/${id}/authorization-models`, { dsl: model });
    assert.equal(good.status, 201);
    const modelId = String(good.body['authorization_model_id']);
    const plain = await call('GET', `/stores/${id}/authorization-models/${modelId}`);
    assert.equal(plain.body['dsl'], undefined);
    const read = await call('GET', `/stores/${id}/authorization-models/${modelId}?format=dsl`);
    assert.match(
      String(read.body['dsl']),
      /define viewer: \[user, group#member, user with before_expiry\] or owner/,
    );
  });
});
