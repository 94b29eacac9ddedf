import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger, migrate } from '@gatehouse/core';
import { openTestSql, type TestSql, waitFor } from '@gatehouse/core/testing';
import { createVerifier } from '@gatehouse/sdk';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { authzMigrations, createAuthz, createAuthzService } from '../src/index.ts';

// The permission service as `gatehouse authz` serves it: the OpenFGA and AuthZEN APIs behind a
// service-token check (the SDK's verifier), with an audit line per decision and per change.
const ISSUER = 'https://idp.test/auth';
const AUDIENCE = 'https://authz.test';

const model = `model
  schema 1.1
type user
type group
  relations
    define member: [user]
type document
  relations
    define owner: [user]
    define editor: [user, group#member] or owner
    define viewer: [user, user:*] or editor
`;

describe('authz service: AuthZEN, caller checks and audit', () => {
  let db: TestSql;
  let server: Server;
  let base = '';
  let storeId = '';
  let sign: (claims: Record<string, unknown>) => Promise<string>;
  const audit: Record<string, unknown>[] = [];
  let reader = '';
  let writer = '';

  before(async () => {
    db = await openTestSql('pglite');
    await migrate(db.sql, [authzMigrations]);
    const authz = createAuthz({ sql: db.sql });
    storeId = (await authz.createStore({ name: 'service test' })).id;
    await authz.writeAuthorizationModel(storeId, { dsl: model });
    await authz.write(storeId, {
      writes: {
        tupleKeys: [
          { user: 'user:anne', relation: 'owner', object: 'document:plan' },
          { user: 'user:bob', relation: 'member', object: 'group:eng' },
          { user: 'group:eng#member', relation: 'editor', object: 'document:plan' },
          { user: 'user:cy', relation: 'viewer', object: 'document:plan' },
          { user: 'user:anne', relation: 'viewer', object: 'document:notes' },
        ],
      },
    });
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    sign = (claims) =>
      new SignJWT({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'svc',
        client_id: 'svc',
        jti: crypto.randomUUID(),
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    reader = await sign({ scope: 'authz:read' });
    writer = await sign({ scope: 'authz:write', client_id: 'admin-svc', sub: 'admin-svc' });
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => {
      for (const l of chunk.toString().split('\n').filter(Boolean)) {
        const line = JSON.parse(l) as Record<string, unknown>;
        if (line['audit'] === 'authz') audit.push(line);
      }
    });
    const handler = createAuthzService({
      authz,
      logger: createLogger({ level: 'info', destination: out }),
      verifier: createVerifier({
        issuer: ISSUER,
        audiences: [AUDIENCE],
        getKey: createLocalJWKSet({ keys: [jwk] }),
      }),
      readScope: 'authz:read',
      writeScope: 'authz:write',
      baseUrl: 'https://pdp.test/authz',
      defaultStoreId: storeId,
      decisionSampleRate: 1,
      auditSql: db.sql,
    });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await db?.cleanup();
  });

  async function post(path: string, body: unknown, token: string | null = reader) {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const triple = (user: string, action: string, doc: string) => ({
    subject: { type: 'user', id: user },
    action: { name: action },
    resource: { type: 'document', id: doc },
  });
  const viewerCount = async () =>
    (
      (await post(`/stores/${storeId}/read`, { tuple_key: { object: 'document:plan', relation: 'viewer' } }))
        .body['tuples'] as unknown[]
    ).length;

  test('metadata names every endpoint under the base URL, without a token', async () => {
    const res = await fetch(`${base}/.well-known/authzen-configuration`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      policy_decision_point: 'https://pdp.test/authz',
      access_evaluation_endpoint: 'https://pdp.test/authz/access/v1/evaluation',
      access_evaluations_endpoint: 'https://pdp.test/authz/access/v1/evaluations',
      search_subject_endpoint: 'https://pdp.test/authz/access/v1/search/subject',
      search_resource_endpoint: 'https://pdp.test/authz/access/v1/search/resource',
      search_action_endpoint: 'https://pdp.test/authz/access/v1/search/action',
    });
  });

  test('evaluation: subject type:id, resource type:id, action name as the relation', async () => {
    assert.deepEqual((await post('/access/v1/evaluation', triple('bob', 'editor', 'plan'))).body, {
      decision: true,
    });
    assert.deepEqual((await post('/access/v1/evaluation', triple('cy', 'editor', 'plan'))).body, {
      decision: false,
    });
    assert.deepEqual((await post('/access/v1/evaluation', triple('anne', 'viewer', 'plan'))).body, {
      decision: true,
    });
  });

  test('evaluation: context.store_id names the store; an unknown store is 404', async () => {
    const ok = await post('/access/v1/evaluation', {
      ...triple('anne', 'owner', 'plan'),
      context: { store_id: storeId },
    });
    assert.deepEqual(ok.body, { decision: true });
    const missing = await post('/access/v1/evaluation', {
      ...triple('anne', 'owner', 'plan'),
      context: { store_id: '01HZZZZZZZZZZZZZZZZZZZZZZZ' },
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body['error'], 'AUTHZ_STORE_NOT_FOUND');
  });

  test('evaluations: defaults from the top level, each semantic', async () => {
    const body = {
      subject: { type: 'user', id: 'cy' },
      resource: { type: 'document', id: 'plan' },
      evaluations: [
        { action: { name: 'viewer' } },
        { action: { name: 'editor' } },
        { action: { name: 'owner' } },
      ],
    };
    const all = await post('/access/v1/evaluations', body);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body, {
      evaluations: [{ decision: true }, { decision: false }, { decision: false }],
    });
    const deny = await post('/access/v1/evaluations', {
      ...body,
      options: { evaluations_semantic: 'deny_on_first_deny' },
    });
    assert.deepEqual(deny.body, { evaluations: [{ decision: true }, { decision: false }] });
    const permit = await post('/access/v1/evaluations', {
      ...body,
      subject: { type: 'user', id: 'nobody' },
      evaluations: [
        ...body.evaluations,
        { subject: { type: 'user', id: 'anne' }, action: { name: 'owner' } },
      ],
      options: { evaluations_semantic: 'permit_on_first_permit' },
    });
    assert.deepEqual(permit.body, {
      evaluations: [{ decision: false }, { decision: false }, { decision: false }, { decision: true }],
    });
    const bad = await post('/access/v1/evaluations', { ...body, options: { evaluations_semantic: 'most' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body['error'], 'AUTHZ_VALIDATION');
  });

  test('evaluations: one bad evaluation is a denial with its reason, the others are answered', async () => {
    const res = await post('/access/v1/evaluations', {
      subject: { type: 'user', id: 'anne' },
      resource: { type: 'document', id: 'plan' },
      evaluations: [{ action: { name: 'owner' } }, { action: { name: 'launch' } }],
    });
    assert.equal(res.status, 200);
    const [first, second] = res.body['evaluations'] as Record<string, unknown>[];
    assert.deepEqual(first, { decision: true });
    assert.equal(second?.['decision'], false);
    assert.deepEqual(
      (second?.['context'] as { error: { code: string } } | undefined)?.error.code,
      'AUTHZ_VALIDATION',
    );
  });

  test('subject search lists the users, resource search the objects, action search the relations', async () => {
    const subjects = await post('/access/v1/search/subject', {
      subject: { type: 'user' },
      action: { name: 'editor' },
      resource: { type: 'document', id: 'plan' },
    });
    assert.deepEqual(subjects.body, {
      results: [
        { type: 'user', id: 'anne' },
        { type: 'user', id: 'bob' },
      ],
      page: { next_token: '' },
    });
    const resources = await post('/access/v1/search/resource', {
      subject: { type: 'user', id: 'anne' },
      action: { name: 'viewer' },
      resource: { type: 'document' },
    });
    assert.deepEqual(resources.body, {
      results: [
        { type: 'document', id: 'notes' },
        { type: 'document', id: 'plan' },
      ],
      page: { next_token: '' },
    });
    const actions = await post('/access/v1/search/action', {
      subject: { type: 'user', id: 'bob' },
      resource: { type: 'document', id: 'plan' },
    });
    assert.deepEqual(actions.body, {
      results: [{ name: 'editor' }, { name: 'viewer' }],
      page: { next_token: '' },
    });
  });

  test('search pages: limit and next_token walk the whole answer', async () => {
    const ask = (page: unknown) =>
      post('/access/v1/search/resource', {
        subject: { type: 'user', id: 'anne' },
        action: { name: 'viewer' },
        resource: { type: 'document' },
        page,
      });
    const first = await ask({ limit: 1 });
    assert.deepEqual(first.body, { results: [{ type: 'document', id: 'notes' }], page: { next_token: '1' } });
    const second = await ask({ limit: 1, token: '1' });
    assert.deepEqual(second.body, { results: [{ type: 'document', id: 'plan' }], page: { next_token: '' } });
    const bad = await ask({ token: 'zz' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body['error'], 'AUTHZ_VALIDATION');
  });

  test('bad AuthZEN bodies are 400 AUTHZ_VALIDATION', async () => {
    for (const body of [
      'not json',
      [],
      { subject: { type: 'user' }, action: { name: 'viewer' }, resource: { type: 'document', id: 'plan' } },
      { subject: { type: 'user', id: 'anne' }, action: {}, resource: { type: 'document', id: 'plan' } },
      { subject: { type: 'user', id: 'anne' }, action: { name: 'viewer' }, resource: 'document:plan' },
      { ...triple('anne', 'viewer', 'plan'), context: [] },
    ]) {
      const res = await post('/access/v1/evaluation', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body['error'], 'AUTHZ_VALIDATION', JSON.stringify(body));
    }
    const unknownType = await post('/access/v1/evaluation', {
      subject: { type: 'user', id: 'anne' },
      action: { name: 'viewer' },
      resource: { type: 'spaceship', id: 'x' },
    });
    assert.equal(unknownType.status, 400);
    assert.equal(unknownType.body['error'], 'AUTHZ_VALIDATION');
    assert.match(String(unknownType.body['message']), /spaceship/);
  });

  test('no token, a bad token, a token for another audience: 401 on both APIs', async () => {
    const noToken = await post('/access/v1/evaluation', triple('anne', 'viewer', 'plan'), null);
    assert.equal(noToken.status, 401);
    assert.equal(noToken.body['error'], 'AUTHZ_UNAUTHENTICATED');
    const fga = await post(
      `/stores/${storeId}/check`,
      { tuple_key: { user: 'user:anne', relation: 'viewer', object: 'document:plan' } },
      null,
    );
    assert.equal(fga.status, 401);
    assert.equal(fga.body['code'], 'unauthenticated');
    const forged = await post(
      '/access/v1/evaluation',
      triple('anne', 'viewer', 'plan'),
      `${reader.slice(0, -4)}AAAA`,
    );
    assert.equal(forged.status, 401);
    const elsewhere = await sign({ scope: 'authz:read', aud: 'https://other.test' });
    assert.equal(
      (await post('/access/v1/evaluation', triple('anne', 'viewer', 'plan'), elsewhere)).status,
      401,
    );
  });

  test('wrong scope: 403, and a refused write changes nothing', async () => {
    const none = await sign({ scope: 'orders:add' });
    const check = await post('/access/v1/evaluation', triple('anne', 'viewer', 'plan'), none);
    assert.equal(check.status, 403);
    assert.equal(check.body['error'], 'AUTHZ_FORBIDDEN');
    const before = await viewerCount();
    const write = await post(`/stores/${storeId}/write`, {
      writes: { tuple_keys: [{ user: 'user:mallory', relation: 'viewer', object: 'document:plan' }] },
    });
    assert.equal(write.status, 403);
    assert.equal(write.body['code'], 'forbidden');
    const model = await post(`/stores/${storeId}/authorization-models`, {
      schema_version: '1.1',
      type_definitions: [],
    });
    assert.equal(model.status, 403);
    assert.equal(await viewerCount(), before);
  });

  test('the write scope writes, and the write and the decisions are audited with who asked', async () => {
    const before = await viewerCount();
    const write = await post(
      `/stores/${storeId}/write`,
      { writes: { tuple_keys: [{ user: 'user:dee', relation: 'viewer', object: 'document:plan' }] } },
      writer,
    );
    assert.equal(write.status, 200);
    assert.equal(await viewerCount(), before + 1);
    const change = audit.find((l) => l['kind'] === 'change' && l['operation'] === 'write');
    assert.deepEqual(change?.['caller'], { sub: 'admin-svc', clientId: 'admin-svc' });
    assert.equal(change?.['storeId'], storeId);
    const decision = audit.find((l) => l['kind'] === 'decision' && l['operation'] === 'authzen.evaluation');
    assert.deepEqual(decision?.['caller'], { sub: 'svc', clientId: 'svc' });
    assert.ok(decision?.['outcome'] === 'allowed' || decision?.['outcome'] === 'denied');
    const refusal = audit.find((l) => l['kind'] === 'refusal' && l['status'] === 403);
    assert.match(String(refusal?.['reason']), /forbidden|AUTHZ_FORBIDDEN/);
    // The same events in the audit table, written after the answer: wait until the write's is there.
    const changes = () =>
      db.sql.query<Record<string, unknown>>(
        `select kind, operation, caller_sub, client_id, store_id, outcome, status, request
           from authz_audit_events where kind = 'change' and operation = 'write'`,
      );
    await waitFor(async () => (await changes()).length > 0, { what: 'the stored audit event' });
    const stored = await changes();
    assert.equal(stored[0]?.['caller_sub'], 'admin-svc');
    assert.equal(stored[0]?.['store_id'], storeId);
    assert.equal(stored[0]?.['outcome'], 'ok');
    assert.deepEqual((stored[0]?.['request'] as { writes?: unknown } | undefined)?.writes, {
      tuple_keys: [{ user: 'user:dee', relation: 'viewer', object: 'document:plan' }],
    });
    const refusals = await db.sql.query<{ n: number }>(
      `select count(*)::int as n from authz_audit_events where kind = 'refusal' and status in (401, 403)`,
    );
    assert.ok((refusals[0]?.n ?? 0) > 0);
  });
  test('creating and deleting a store are audited as changes, named stores and store', async () => {
    const created = await post('/stores', { name: 'short lived' }, writer);
    assert.equal(created.status, 201);
    const id = String(created.body['id']);
    const removed = await fetch(`${base}/stores/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${writer}` },
    });
    assert.equal(removed.status, 204);
    const changes = audit
      .filter((l) => l['kind'] === 'change')
      .map((l) => [l['operation'], l['storeId'] ?? null]);
    assert.deepEqual(
      changes.filter(([op]) => op === 'stores' || op === 'store'),
      [
        ['stores', null],
        ['store', id],
      ],
    );
  });
});
