// The permission service inside `gatehouse dev` (a real process on its own port and data folder),
// behind the gateway at /authz: OpenFGA's official SDK, the AuthZEN API, the CLI, and refusals.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CredentialsMethod, OpenFgaClient } from '@openfga/sdk';
import { transformer } from '@openfga/syntax-transformer';
import { type DevStack, startDevStack } from './support/dev-process.ts';

const bin = fileURLToPath(new URL('../packages/cli/src/bin.ts', import.meta.url));

async function serviceToken(origin: string, params: Record<string, string>): Promise<string> {
  const res = await fetch(`${origin}/auth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  const body = (await res.json()) as { access_token?: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token!;
}

const model = `model
  schema 1.1
type user
type group
  relations
    define member: [user, group#member]
type folder
  relations
    define viewer: [user, group#member]
type document
  relations
    define parent: [folder]
    define owner: [user]
    define viewer: [user] or owner or viewer from parent
`;

describe('gatehouse dev: the permission service at /authz', { timeout: 240_000 }, () => {
  let stack: DevStack;
  let api = '';
  let writer = '';
  let reader = '';
  let storeId = '';
  const dir = mkdtempSync(join(tmpdir(), 'gh-authz-cli-'));

  before(async () => {
    stack = await startDevStack();
    api = `${stack.origin}/authz`;
    writer = await serviceToken(stack.origin, { resource: api, scope: 'authz:read authz:write' });
    reader = await serviceToken(stack.origin, { resource: api, scope: 'authz:read' });
  });
  after(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, token: string | null, body?: unknown) {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  }

  test('@openfga/sdk creates a store, writes a model and tuples, and checks, through the gateway', async () => {
    const credentials = { method: CredentialsMethod.ApiToken, config: { token: writer } } as const;
    const admin = new OpenFgaClient({ apiUrl: api, credentials });
    const store = await admin.createStore({ name: 'dev stack store' });
    storeId = store.id;
    const fga = new OpenFgaClient({ apiUrl: api, storeId, credentials });
    const { authorization_model_id } = await fga.writeAuthorizationModel(
      transformer.transformDSLToJSONObject(model) as never,
    );
    assert.match(authorization_model_id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    await fga.write({
      writes: [
        { user: 'user:anne', relation: 'owner', object: 'document:plan' },
        { user: 'folder:specs', relation: 'parent', object: 'document:plan' },
        { user: 'group:eng#member', relation: 'viewer', object: 'folder:specs' },
        { user: 'user:bob', relation: 'member', object: 'group:eng' },
      ],
    });
    const check = async (user: string) =>
      (await fga.check({ user, relation: 'viewer', object: 'document:plan' })).allowed;
    assert.equal(await check('user:anne'), true);
    assert.equal(await check('user:bob'), true);
    assert.equal(await check('user:eve'), false);
    const { objects } = await fga.listObjects({ user: 'user:bob', relation: 'viewer', type: 'document' });
    assert.deepEqual(objects, ['document:plan']);
  });

  test('AuthZEN: metadata on the gateway origin, evaluation, batch and search', async () => {
    const meta = await fetch(`${api}/.well-known/authzen-configuration`);
    assert.equal(meta.status, 200);
    const doc = (await meta.json()) as Record<string, string>;
    assert.equal(doc['policy_decision_point'], api);
    assert.equal(doc['access_evaluation_endpoint'], `${api}/access/v1/evaluation`);
    const context = { store_id: storeId };
    const one = await call('POST', '/access/v1/evaluation', reader, {
      subject: { type: 'user', id: 'bob' },
      action: { name: 'viewer' },
      resource: { type: 'document', id: 'plan' },
      context,
    });
    assert.deepEqual(one, { status: 200, body: { decision: true } });
    const many = await call('POST', '/access/v1/evaluations', reader, {
      resource: { type: 'document', id: 'plan' },
      action: { name: 'owner' },
      context,
      evaluations: [{ subject: { type: 'user', id: 'bob' } }, { subject: { type: 'user', id: 'anne' } }],
    });
    assert.deepEqual(many.body, { evaluations: [{ decision: false }, { decision: true }] });
    const found = await call('POST', '/access/v1/search/resource', reader, {
      subject: { type: 'user', id: 'bob' },
      action: { name: 'viewer' },
      resource: { type: 'document' },
      context,
    });
    assert.deepEqual(found.body['results'], [{ type: 'document', id: 'plan' }]);
  });

  test('refusals: no token 401, a token for the gateway 401, read scope writing 403, bad body 400; nothing changes', async () => {
    const tuple = { user: 'user:mallory', relation: 'owner', object: 'document:plan' };
    const write = (token: string | null) =>
      call('POST', `/stores/${storeId}/write`, token, { writes: { tuple_keys: [tuple] } });
    const none = await write(null);
    assert.equal(none.status, 401);
    assert.equal(none.body['code'], 'unauthenticated');
    const gatewayToken = await serviceToken(stack.origin, {});
    assert.equal((await write(gatewayToken)).status, 401);
    const underScoped = await write(reader);
    assert.equal(underScoped.status, 403);
    assert.equal(underScoped.body['code'], 'forbidden');
    const bad = await call('POST', `/stores/${storeId}/write`, writer, '{"writes":');
    assert.equal(bad.status, 400);
    assert.equal(bad.body['code'], 'validation_error');
    const badEval = await call('POST', '/access/v1/evaluation', reader, { subject: 'user:bob' });
    assert.equal(badEval.status, 400);
    assert.equal(badEval.body['error'], 'AUTHZ_VALIDATION');
    const read = await call('POST', `/stores/${storeId}/read`, reader, { tuple_key: tuple });
    assert.deepEqual(read.body['tuples'], []);
  });

  test('the CLI writes a model and tuples and checks against the running service', async () => {
    const run = async (...args: string[]) => {
      try {
        const { stdout } = await promisify(execFile)(process.execPath, [bin, 'authz', ...args], {
          env: { ...process.env, GATEHOUSE_AUTHZ_URL: api, GATEHOUSE_AUTHZ_TOKEN: writer },
        });
        return { code: 0, out: stdout.trim() };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, out: `${e.stdout}${e.stderr}`.trim() };
      }
    };
    const created = await run('store', 'create', 'cli store');
    assert.equal(created.code, 0, created.out);
    const store = created.out;
    const file = join(dir, 'model.fga');
    writeFileSync(file, model);
    const written = await run('model', 'write', file, '--store', store);
    assert.match(written.out, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(
      (await run('tuples', 'write', 'user:cy', 'owner', 'document:memo', '--store', store)).code,
      0,
    );
    assert.deepEqual(await run('check', 'user:cy', 'viewer', 'document:memo', '--store', store), {
      code: 0,
      out: 'allowed',
    });
    assert.deepEqual(await run('check', 'user:dan', 'viewer', 'document:memo', '--store', store), {
      code: 1,
      out: 'denied',
    });
    assert.equal((await run('tuples', 'read', '--store', store)).out, 'user:cy owner document:memo');
    const broken = join(dir, 'broken.fga');
    writeFileSync(broken, 'model\n  schema 1.1\ntype document\n  relations\n    define viewer: [nobody]\n');
    const refused = await run('model', 'write', broken, '--store', store);
    assert.equal(refused.code, 1);
    assert.match(refused.out, /the model is invalid/);
    const noToken = await run('check', 'user:cy', 'viewer', 'document:memo', '--store', store, '--token', '');
    assert.equal(noToken.code, 1);
    assert.match(noToken.out, /401 unauthenticated/);
  });
});
