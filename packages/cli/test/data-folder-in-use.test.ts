import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('two processes on one embedded data folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-cli-in-use-'));
  const file = join(dir, 'gatehouse.yaml');
  let server: ChildProcess | undefined;
  let issuer = '';
  let env: Record<string, string | undefined> = {};

  before(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}/auth`;
    writeFileSync(
      file,
      `server:
  port: ${port}
  publicUrl: http://127.0.0.1:${port}
storage:
  dataDir: ${join(dir, 'data')}
log:
  level: warn
idp:
  clients:
    - clientId: ops-robot
      clientSecret: \${env:OPS_ROBOT_SECRET}
      grantTypes: [client_credentials]
      roles: [admin]
`,
    );
    env = {
      ...cleanEnv,
      NODE_ENV: '',
      GATEHOUSE_CONFIG: file,
      OPS_ROBOT_SECRET: 'ops-robot-secret-0123456789',
    };
    server = spawn(process.execPath, [bin, 'idp'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    server.stdout!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    server.stderr!.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`gatehouse idp exited: ${output}`);
      const ok = await fetch(`${issuer}/.well-known/openid-configuration`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`gatehouse idp did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(() => {
    server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  function gatehouse(args: string[], extra: Record<string, string> = {}) {
    const r = spawnSync(process.execPath, [bin, ...args], {
      encoding: 'utf8',
      env: { ...env, ...extra },
      cwd: dir,
      timeout: 60_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  test('keys list without a token refuses, naming the process that holds the folder and what to do', () => {
    const r = gatehouse(['keys', 'list']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`in use by process ${server!.pid} \\(gatehouse idp\\)`));
    assert.match(r.stderr, /--token/);
    assert.match(r.stderr, new RegExp(`${issuer}/admin/keys`));
  });

  test('migrate, which opens the folder itself, is refused with GH_STORAGE_LOCKED', () => {
    const r = gatehouse(['migrate']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /GH_STORAGE_LOCKED: The data folder .* is in use by process \d+ \(gatehouse idp, since /,
    );
  });

  test('gatehouse idp in development seeds the demo fixtures (demo.enabled defaults to true)', async () => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
  });

  test('with an admin token, keys rotate and list ask the running server', async () => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('ops-robot:ops-robot-secret-0123456789').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    const { access_token: token } = (await res.json()) as { access_token: string };
    const before = gatehouse(['keys', 'list', '--json', '--token', token]);
    assert.equal(before.code, 0, before.stderr);
    const keysBefore = JSON.parse(before.stdout) as { kid: string; state: string; alg: string }[];
    const rotate = gatehouse(['keys', 'rotate'], { GATEHOUSE_ADMIN_TOKEN: token });
    assert.equal(rotate.code, 0, rotate.stderr);
    assert.match(rotate.stdout, /^rotated: /);
    const after = JSON.parse(gatehouse(['keys', 'list', '--json', '--token', token]).stdout) as {
      kid: string;
      alg: string;
    }[];
    // One new key per family: the ES256 key of access tokens and the RSA key of RS256 ID tokens.
    const added = after.filter((k) => !keysBefore.some((b) => b.kid === k.kid)).map((k) => k.alg);
    assert.deepEqual(added.sort(), ['ES256', 'RS256']);
    const refused = gatehouse(['keys', 'list', '--token', 'not-a-token']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /answered 401 IDP_UNAUTHENTICATED/);
  });
});
