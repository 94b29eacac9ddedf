import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

// `gatehouse authz`: its configuration checked at start, its sub-commands' help and errors, store test
// files, and the service as its own process verifying tokens against a JWKS fetched over HTTP.
const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const shipped = fileURLToPath(new URL('../../../docs/authz/store-tests/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'gh-authz-cmd-'));

const cleanEnv = () =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));

function gatehouse(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...cleanEnv(), NODE_ENV: '', ...env },
    cwd: work,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

after(() => rmSync(work, { recursive: true, force: true }));

describe('gatehouse authz: configuration, help and errors', () => {
  test('a bad authz section stops the verb with the key named', () => {
    const cases: [string, RegExp][] = [
      ['authz:\n  limits:\n    maxResolutionDepth: 0\n', /authz\.limits\.maxResolutionDepth: must be >= 1/],
      ['authz:\n  limits:\n    maxDepth: 3\n', /authz\.limits\.maxDepth: unknown key/],
      ['authz:\n  audit:\n    decisionSampleRate: 2\n', /authz\.audit\.decisionSampleRate: must be <= 1/],
      ['authz:\n  auth:\n    readScope: "has space"\n', /authz\.auth\.readScope/],
      ['authz:\n  defaultStoreId: not-a-store\n', /authz\.defaultStoreId/],
    ];
    for (const [yaml, message] of cases) {
      const r = gatehouse(['authz', '--config', file('bad.yaml', yaml)]);
      assert.equal(r.code, 1, yaml);
      assert.match(r.stderr, message);
    }
    const env = gatehouse(['authz'], { GATEHOUSE_AUTHZ__LIMITS__MAX_TUPLES_PER_WRITE: 'many' });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /authz\.limits\.maxTuplesPerWrite: must be an integer/);
  });

  test('the defaults are OpenFGA limits, shown by gatehouse config', () => {
    const r = gatehouse(['config']);
    assert.equal(r.code, 0, r.stderr);
    const { authz } = JSON.parse(r.stdout) as {
      authz: { limits: Record<string, number>; auth: Record<string, string>; dev: boolean };
    };
    assert.equal(authz.limits['maxResolutionDepth'], 25);
    assert.equal(authz.limits['listObjectsMaxResults'], 1000);
    assert.equal(authz.limits['maxTuplesPerWrite'], 100);
    assert.equal(authz.limits['maxChecksPerBatchCheck'], 50);
    assert.equal(authz.auth['readScope'], 'authz:read');
    assert.equal(authz.auth['writeScope'], 'authz:write');
    assert.equal(authz.dev, true);
  });

  test('each sub-command has its own --help', () => {
    for (const sub of [
      ['store', 'create'],
      ['store', 'list'],
      ['model', 'write'],
      ['model', 'show'],
      ['tuples', 'write'],
      ['tuples', 'read'],
      ['tuples', 'delete'],
      ['check'],
      ['test'],
    ]) {
      const r = gatehouse(['authz', ...sub, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.startsWith(`Usage: gatehouse authz ${sub.join(' ')}`), r.stdout);
    }
  });

  test('an unknown sub-command exits 2; a missing store exits 2; an unreachable service exits 1', () => {
    assert.equal(gatehouse(['authz', 'frob']).code, 2);
    const noStore = gatehouse(['authz', 'check', 'user:a', 'viewer', 'doc:1']);
    assert.equal(noStore.code, 2);
    assert.match(noStore.stderr, /--store ID or GATEHOUSE_AUTHZ_STORE/);
    const down = gatehouse(['authz', 'check', 'user:a', 'viewer', 'doc:1', '--store', 'x'], {
      GATEHOUSE_AUTHZ_URL: 'http://127.0.0.1:9',
    });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach the permission service at http:\/\/127\.0\.0\.1:9/);
  });

  test('authz test: the shipped store files pass, exit 0, with a table', () => {
    const r = gatehouse([
      'authz',
      'test',
      join(shipped, 'drive.fga.yaml'),
      join(shipped, 'owner-or-admin.fga.yaml'),
      join(shipped, 'invitation.fga.yaml'),
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /PASS {4}check {8}user:anne editor document:api-design/);
    assert.match(r.stdout, /^\d+ passed, 0 failed$/m);
  });

  test('authz test: a failing assertion or an unreadable file exits 1', () => {
    const wrong = file(
      'wrong.fga.yaml',
      'model: "model\\n  schema 1.1\\ntype user\\ntype doc\\n  relations\\n    define viewer: [user]"\ntests:\n  - check: [{ user: user:a, object: doc:1, assertions: { viewer: true } }]\n',
    );
    const r = gatehouse(['authz', 'test', wrong]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {4}check {8}user:a viewer doc:1 +true → false/);
    assert.match(r.stdout, /0 passed, 1 failed/);
    const missing = gatehouse(['authz', 'test', join(work, 'nope.fga.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /FAIL {2}.*nope\.fga\.yaml/);
    assert.equal(gatehouse(['authz', 'test']).code, 2);
  });
});

describe('gatehouse authz: the service as its own process', { timeout: 120_000 }, () => {
  let jwks: Server;
  let child: ChildProcess;
  let base = '';
  let privateKey: CryptoKey;
  let issuer = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-authz-data-'));

  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    // Stands in for the identity provider's JWKS endpoint: the service fetches keys over HTTP only.
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    base = `http://127.0.0.1:${port}`;
    child = spawn(
      process.execPath,
      [
        bin,
        'authz',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--public-url',
        'https://pdp.example.com',
      ],
      {
        env: {
          ...cleanEnv(),
          NODE_ENV: '',
          GATEHOUSE_LOG__LEVEL: 'warn',
          GATEHOUSE_STORAGE__DATA_DIR: dataDir,
          GATEHOUSE_AUTHZ__AUTH__ISSUER: issuer,
          GATEHOUSE_AUTHZ__AUTH__JWKS_URI: `${issuer}/jwks`,
          GATEHOUSE_AUTHZ__AUTH__AUDIENCE: 'https://pdp.example.com',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (out += d));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`gatehouse authz exited:\n${out}`);
      const ok = await fetch(`${base}/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`gatehouse authz not ready:\n${out}`);
      // Readiness is the condition; the pause only spaces the attempts.
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise((r) => jwks?.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const token = (scope: string) =>
    new SignJWT({
      iss: issuer,
      aud: 'https://pdp.example.com',
      sub: 'ops',
      client_id: 'ops',
      jti: crypto.randomUUID(),
      scope,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);

  test('serves AuthZEN metadata at its public URL, and the OpenFGA API to a token with the write scope', async () => {
    const meta = (await (await fetch(`${base}/.well-known/authzen-configuration`)).json()) as Record<
      string,
      string
    >;
    assert.equal(meta['access_evaluations_endpoint'], 'https://pdp.example.com/access/v1/evaluations');
    const created = await fetch(`${base}/stores`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('authz:write')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'own process' }),
    });
    assert.equal(created.status, 201);
    const refused = await fetch(`${base}/stores`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('authz:read')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'not allowed' }),
    });
    assert.equal(refused.status, 403);
    const listed = await fetch(`${base}/stores`, {
      headers: { authorization: `Bearer ${await token('authz:read')}` },
    });
    const names = ((await listed.json()) as { stores: { name: string }[] }).stores.map((s) => s.name);
    assert.deepEqual(names, ['own process']);
    assert.equal((await fetch(`${base}/stores`)).status, 401);
  });
});
