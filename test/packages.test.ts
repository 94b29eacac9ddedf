// The published packages, used the way a team outside this repository uses them: every public
// package is packed (scripts/pack.ts, npm pack), the tarballs are installed into scratch projects in
// the system's temporary folder, and there `npx gatehouse dev` runs from the packed CLI while an
// Express and a Hono service guarded by the packed SDK run on Node 20 and on the bundled Node 24.
// Needs the npm registry for the tarballs' own dependencies (npm's cache answers when it can).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type PackedPackage, packAll } from '../scripts/pack.ts';
import { freePort } from './support/dev-process.ts';
import { userAccessToken } from './support/user-token.ts';

const ci = process.env.CI === 'true';
const root = resolve(import.meta.dirname, '..');
const NODE20 = '/usr/bin/node';
const bundledBin = dirname(process.execPath);
const npmInstall = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];

function progress(line: string): void {
  console.log(`# packages: ${line}`);
}

/** Node 20 here, or why not (on a developer machine without it the Node 20 runs are skipped). */
function node20(): string | undefined {
  const r = spawnSync(NODE20, ['--version'], { encoding: 'utf8' });
  if (r.error || !r.stdout.startsWith('v20.')) return undefined;
  return r.stdout.trim();
}

/** Runs with the bundled Node 24 (and its npm) first on PATH, as `npm test` itself does. */
function run(cmd: string, args: string[], cwd: string, timeoutMs = 240_000): string {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, PATH: `${bundledBin}:${process.env.PATH}` },
  });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  progress(`${cmd} ${args.slice(0, 2).join(' ')} … done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return r.stdout;
}

function scratchProject(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gh-${name}-`));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  return dir;
}

interface Child {
  process: ChildProcess;
  output(): string;
}

/** Spawns and waits until a line of its stdout satisfies `ready` (returns what `ready` found). */
async function startChild<T>(
  cmd: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
  ready: (output: string) => T | undefined | Promise<T | undefined>,
): Promise<{ child: Child; found: T }> {
  // Its own process group: npx runs the command in a grandchild that a signal to npx alone would orphan.
  const proc = spawn(cmd, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const child = { process: proc, output: () => out };
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`${cmd} ${args.join(' ')} exited with ${proc.exitCode}:\n${out}`);
    const found = await ready(out);
    if (found !== undefined) return { child, found };
    if (Date.now() > deadline) {
      process.kill(-proc.pid!, 'SIGTERM');
      throw new Error(`${cmd} ${args.join(' ')} not ready in time:\n${out}`);
    }
    // The condition is polled; the pause only spaces the attempts.
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopChild(child: Child | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null) return;
  const closed = new Promise((r) => child.process.once('close', r));
  process.kill(-child.process.pid!, 'SIGTERM');
  await closed;
}

const expressService = `import express from 'express';
import { createVerifier } from '@gatehouse/sdk';
import { createExpressGuard, principalOf } from '@gatehouse/sdk/express';

const verifier = createVerifier({
  issuer: process.env.ISSUER,
  audiences: [process.env.AUDIENCE],
  jwksUri: process.env.JWKS_URI,
});
const guard = createExpressGuard({ verifier });
const app = express();
app.get('/reports', guard.authenticate, guard.requireRoles('admin'), (req, res) => {
  res.json({ node: process.version, framework: 'express', username: principalOf(req).username });
});
const server = app.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => server.close());
`;

const honoService = `import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createVerifier } from '@gatehouse/sdk';
import { createHonoGuard } from '@gatehouse/sdk/hono';

const verifier = createVerifier({
  issuer: process.env.ISSUER,
  audiences: [process.env.AUDIENCE],
  jwksUri: process.env.JWKS_URI,
});
const guard = createHonoGuard({ verifier });
const app = new Hono();
app.get('/reports', guard.authenticate, guard.requireRoles('admin'), (c) =>
  c.json({ node: process.version, framework: 'hono', username: c.get('principal').username }),
);
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
  console.log(JSON.stringify({ port: info.port })),
);
process.on('SIGTERM', () => server.close());
`;

// Loads every entry point of the sdk and reports, per framework guard, what importing it did.
const importGuards = `const results = {};
const sdk = await import('@gatehouse/sdk');
results.core = typeof sdk.createVerifier;
await import('@gatehouse/sdk/node-http');
for (const entry of ['express', 'fastify', 'hono', 'grpc']) {
  try {
    await import('@gatehouse/sdk/' + entry);
    results[entry] = 'loaded';
  } catch (err) {
    results[entry] = { code: err.code, message: err.message };
  }
}
console.log(JSON.stringify(results));
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}

describe('the published packages, installed outside the repository', { timeout: 900_000 }, () => {
  let outDir = '';
  let packed: PackedPackage[] = [];
  let sdkOnly = '';
  let app = '';

  before(
    () => {
      outDir = mkdtempSync(join(tmpdir(), 'gh-pack-'));
      progress(`packing every public package into ${outDir}`);
      packed = packAll(outDir, progress);
      sdkOnly = scratchProject('sdk-only');
      app = scratchProject('team-service');
      const sdk = packed.find((p) => p.name === '@gatehouse/sdk');
      assert.ok(sdk, 'the sdk is packed');
      progress(`installing the sdk alone into ${sdkOnly}`);
      run('npm', [...npmInstall, sdk.tarball], sdkOnly);
      progress(`installing every tarball, Express and Hono into ${app}`);
      run(
        'npm',
        [...npmInstall, ...packed.map((p) => p.tarball), 'express@^5', 'hono@^4', '@hono/node-server@^2'],
        app,
      );
      writeFileSync(join(app, 'express-service.js'), expressService);
      writeFileSync(join(app, 'hono-service.js'), honoService);
    },
    { timeout: 600_000 },
  );

  after(() => {
    for (const dir of [outDir, sdkOnly, app]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every public package is packed: sdk, core, idp, gateway, authz, cli', () => {
    assert.deepEqual(packed.map((p) => p.name).sort(), [
      '@gatehouse/authz',
      '@gatehouse/cli',
      '@gatehouse/core',
      '@gatehouse/gateway',
      '@gatehouse/idp',
      '@gatehouse/sdk',
    ]);
  });

  test('the tarballs hold no tests, no secrets, and source maps that stay inside the package', () => {
    for (const p of packed) {
      for (const f of p.files) {
        assert.doesNotMatch(f, /(^|\/)(test|tests|__tests__)\//, `${p.name}: ${f} is a test folder`);
        assert.doesNotMatch(f, /\.(test|spec)\.[cm]?[jt]s$/, `${p.name}: ${f} is a test`);
        assert.doesNotMatch(
          f,
          /(^|\/)(\.env.*|\.npmrc|.*\.pem|.*\.key|.*\.p12|id_[a-z0-9]+|\.gatehouse\/.*)$/,
          `${p.name}: ${f}`,
        );
      }
      assert.ok(
        p.files.includes('package.json') && p.files.includes('README.md') && p.files.includes('LICENSE'),
      );
      const installed = join(app, 'node_modules', p.name);
      for (const f of filesUnder(installed)) {
        const text = readFileSync(join(installed, f), 'utf8');
        assert.doesNotMatch(
          text,
          /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
          `${p.name}: ${f} holds a private key`,
        );
        if (!f.endsWith('.map')) continue;
        const map = JSON.parse(text) as { sources: string[]; sourceRoot?: string };
        for (const s of map.sources) {
          const target = resolve(dirname(join(installed, f)), map.sourceRoot ?? '', s);
          const inside = relative(installed, target);
          assert.ok(!inside.startsWith('..') && !inside.startsWith(sep), `${p.name}: ${f} points at ${s}`);
          assert.ok(existsSync(target), `${p.name}: ${f} points at ${s}, which is not in the package`);
        }
      }
      const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
        private?: boolean;
        license: string;
        exports: Record<string, { types: string; import: string }>;
      };
      assert.equal(manifest.private, undefined, `${p.name} is not private`);
      assert.equal(manifest.license, 'Apache-2.0');
      for (const [key, target] of Object.entries(manifest.exports)) {
        for (const file of [target.types, target.import])
          assert.ok(statSync(join(installed, file)).isFile(), `${p.name} exports["${key}"] → ${file} exists`);
      }
    }
  });

  test('installing the sdk installs no web framework and no gRPC', () => {
    const installed = readdirSync(join(sdkOnly, 'node_modules')).flatMap((n) =>
      n.startsWith('@') ? readdirSync(join(sdkOnly, 'node_modules', n)).map((m) => `${n}/${m}`) : [n],
    );
    for (const name of [
      'express',
      'fastify',
      'hono',
      '@hono/node-server',
      '@grpc/grpc-js',
      '@grpc/proto-loader',
    ])
      assert.ok(!installed.includes(name), `${name} was installed with the sdk: ${installed.join(', ')}`);
    assert.ok(installed.includes('jose'));
  });

  for (const runtime of ['node20', 'node24'] as const) {
    test(`${runtime}: importing a guard whose framework is missing names the package to install`, (t) => {
      const node = runtime === 'node20' ? NODE20 : process.execPath;
      if (runtime === 'node20' && !node20()) {
        if (ci) assert.fail(`${NODE20} is not Node 20`);
        t.skip(`${NODE20} is not Node 20 on this machine`);
        return;
      }
      const out = run(node, ['--input-type=module', '-e', importGuards], sdkOnly);
      const results = JSON.parse(out) as Record<string, string | { code: string; message: string }>;
      assert.equal(results.core, 'function');
      const expected = { express: 'express', fastify: 'fastify', hono: 'hono', grpc: '@grpc/grpc-js' };
      for (const [entry, pkg] of Object.entries(expected)) {
        const r = results[entry] as { code: string; message: string };
        assert.equal(r.code, 'SDK_PEER_MISSING', `${entry}: ${JSON.stringify(r)}`);
        assert.ok(r.message.includes(`npm install ${pkg}`), r.message);
      }
    });
  }

  test("TypeScript resolves the packed sdk's declarations (a typo in a consumer is an error)", () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      `import { createVerifier, type Principal, type Verifier } from '@gatehouse/sdk';
import { createHonoGuard, type PrincipalEnv } from '@gatehouse/sdk/hono';
import { Hono } from 'hono';

const verifier: Verifier = createVerifier({ issuer: 'https://id.example/auth', audiences: ['orders'] });
const guard = createHonoGuard({ verifier });
const app = new Hono<PrincipalEnv>();
app.get('/', guard.authenticate, guard.requireRoles('admin'), (c) => {
  const p: Principal = c.get('principal');
  // @ts-expect-error: a Principal has no such member, which only real declarations can tell
  p.nonexistent;
  return c.json({ subject: p.subject.toUpperCase(), roles: p.roles.join(',') });
});
export default app;
`,
    );
    run(
      join(root, 'node_modules/.bin/tsc'),
      [
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
        '--skipLibCheck',
        '--typeRoots',
        join(root, 'node_modules/@types'),
        '--types',
        'node',
        'consumer.ts',
      ],
      app,
    );
  });

  test('the packed gatehouse command on Node 20 says it needs Node 24, in one line', (t) => {
    if (!node20()) {
      if (ci) assert.fail(`${NODE20} is not Node 20`);
      t.skip(`${NODE20} is not Node 20 on this machine`);
      return;
    }
    const r = spawnSync(NODE20, [join(app, 'node_modules/@gatehouse/cli/dist/bin.js'), '--help'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^gatehouse needs Node\.js 24 or newer; this is Node\.js 20\./);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('npx gatehouse migrate --config applies the migrations from the packed CLI, once', {
    timeout: 300_000,
  }, () => {
    writeFileSync(
      join(app, 'migrate.yaml'),
      'mode: development\nstorage:\n  driver: pglite\n  dataDir: migrate-data\n',
    );
    const config = ['--config', 'migrate.yaml'];
    assert.match(
      run('npx', ['gatehouse', 'migrate', ...config], app),
      /applied: idp\/0001_oidc, idp\/0002_accounts/,
    );
    assert.match(run('npx', ['gatehouse', 'migrate', ...config], app), /up to date: no migration to apply/);
    assert.match(run('npx', ['gatehouse', 'config', ...config], app), /migrate-data/);
  });

  test('npx gatehouse idp and npx gatehouse gateway run from one config file, the gateway in front', {
    timeout: 420_000,
  }, async () => {
    const [gw, idp] = [await freePort(), await freePort()];
    const origin = `http://localhost:${gw}`;
    writeFileSync(
      join(app, 'split.yaml'),
      [
        'server:',
        `  port: ${gw}`,
        `  publicUrl: ${origin}`,
        'storage:',
        '  driver: pglite',
        '  dataDir: split-data',
        'log:',
        '  level: warn',
        'gateway:',
        '  auth:',
        `    jwksUri: http://127.0.0.1:${idp}/auth/jwks`,
        '  routes:',
        '    - id: idp',
        '      match: { path: /auth }',
        `      upstreams: [http://127.0.0.1:${idp}]`,
        '      policy: public',
        '    - id: api',
        '      match: { path: /api }',
        `      upstreams: [http://127.0.0.1:${idp}]`,
        '      policy: authenticated',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, PATH: `${bundledBin}:${process.env.PATH}` };
    const answers = (url: string) => async () => {
      try {
        return (await fetch(url)).ok ? true : undefined;
      } catch {
        return undefined;
      }
    };
    let idpChild: Child | undefined;
    let gatewayChild: Child | undefined;
    try {
      progress('starting npx gatehouse idp --config split.yaml');
      idpChild = (
        await startChild(
          'npx',
          ['gatehouse', 'idp', '--config', 'split.yaml', '--port', String(idp)],
          { cwd: app, env, timeoutMs: 180_000 },
          answers(`http://127.0.0.1:${idp}/auth/.well-known/openid-configuration`),
        )
      ).child;
      progress('starting npx gatehouse gateway --config split.yaml');
      gatewayChild = (
        await startChild(
          'npx',
          ['gatehouse', 'gateway', '--config', 'split.yaml'],
          { cwd: app, env, timeoutMs: 180_000 },
          answers(`${origin}/auth/.well-known/openid-configuration`),
        )
      ).child;
      const discovery = await fetch(`${origin}/auth/.well-known/openid-configuration`);
      assert.equal(discovery.status, 200);
      assert.equal(((await discovery.json()) as { issuer: string }).issuer, `${origin}/auth`);
      const anonymous = await fetch(`${origin}/api/anything`);
      assert.equal(anonymous.status, 401);
      assert.equal(((await anonymous.json()) as { error: string }).error, 'SDK_TOKEN_MISSING');
    } finally {
      await stopChild(gatewayChild);
      await stopChild(idpChild);
    }
  });

  describe('against npx gatehouse dev from the packed CLI', () => {
    let dev: Child | undefined;
    let origin = '';
    const tokens = { alice: '', bob: '' };

    before(
      async () => {
        const port = await freePort();
        origin = `http://localhost:${port}`;
        progress(`starting npx gatehouse dev on ${origin}`);
        const started = Date.now();
        const r = await startChild(
          'npx',
          ['gatehouse', 'dev'],
          {
            cwd: app,
            timeoutMs: 180_000,
            env: {
              ...process.env,
              PATH: `${bundledBin}:${process.env.PATH}`,
              GATEHOUSE_SERVER__PORT: String(port),
              GATEHOUSE_SERVER__PUBLIC_URL: origin,
              GATEHOUSE_LOG__LEVEL: 'warn',
            },
          },
          async () => {
            try {
              const res = await fetch(`${origin}/auth/.well-known/openid-configuration`);
              return res.ok ? ((await res.json()) as { issuer: string }) : undefined;
            } catch {
              return undefined;
            }
          },
        );
        dev = r.child;
        progress(`gatehouse dev answered discovery after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        tokens.alice = await userAccessToken(origin, { username: 'alice', password: 'alice-password' });
        tokens.bob = await userAccessToken(origin, { username: 'bob', password: 'bob-password' });
      },
      { timeout: 240_000 },
    );

    after(async () => {
      await stopChild(dev);
    });

    test('discovery answers with the issuer, and the command says the reference systems are not in the package', async () => {
      const res = await fetch(`${origin}/auth/.well-known/openid-configuration`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { issuer: string }).issuer, `${origin}/auth`);
      assert.match(dev!.output(), /reference systems: not part of the npm package/);
      assert.ok(existsSync(join(app, '.gatehouse', 'data')), 'PGlite data in the project folder');
    });

    for (const runtime of ['node20', 'node24'] as const) {
      for (const framework of ['express', 'hono'] as const) {
        test(`${runtime}, ${framework}: alice is allowed, bob and an anonymous caller are refused`, async (t) => {
          const node = runtime === 'node20' ? NODE20 : process.execPath;
          const version = runtime === 'node20' ? node20() : process.version;
          if (!version) {
            if (ci) assert.fail(`${NODE20} is not Node 20`);
            t.skip(`${NODE20} is not Node 20 on this machine`);
            return;
          }
          const { child, found } = await startChild(
            node,
            [`${framework}-service.js`],
            {
              cwd: app,
              timeoutMs: 30_000,
              env: {
                ...process.env,
                ISSUER: `${origin}/auth`,
                AUDIENCE: origin,
                JWKS_URI: `${origin.replace('localhost', '127.0.0.1')}/auth/jwks`,
              },
            },
            (out) => {
              const line = out.split('\n').find((l) => l.startsWith('{"port"'));
              return line ? (JSON.parse(line) as { port: number }).port : undefined;
            },
          );
          try {
            const url = `http://127.0.0.1:${found}/reports`;
            const alice = await fetch(url, { headers: { authorization: `Bearer ${tokens.alice}` } });
            assert.equal(alice.status, 200);
            assert.deepEqual(await alice.json(), { node: version, framework, username: 'alice' });

            const bob = await fetch(url, { headers: { authorization: `Bearer ${tokens.bob}` } });
            assert.equal(bob.status, 403);
            assert.equal(((await bob.json()) as { error: string }).error, 'SDK_INSUFFICIENT_ROLE');

            const anonymous = await fetch(url);
            assert.equal(anonymous.status, 401);
            assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
            assert.equal(((await anonymous.json()) as { error: string }).error, 'SDK_TOKEN_MISSING');
          } finally {
            await stopChild(child);
          }
        });
      }
    }
  });
});
