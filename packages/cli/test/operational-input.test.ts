/**
 * Bad operational input is refused clearly, by the real verbs as processes:
 * - a PostgreSQL or Redis that refuses connections, or accepts them and never answers, stops the
 *   verb with its code (GH_STORAGE_UNAVAILABLE, GH_STATE_UNAVAILABLE), the address, exit code 1,
 *   and no hang;
 * - `gatehouse migrate` run from two processes at once applies each migration once (the advisory
 *   lock serialises them) and both exit 0;
 * - an identity provider started with another key-encryption secret than the one that stored the
 *   signing keys refuses to start (IDP_KEY_DECRYPT_FAILED) instead of signing with new keys.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openTestSql, skipUnlessService, type TestSql } from '@gatehouse/core/testing';
import { stringify } from 'yaml';

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
const dir = mkdtempSync(join(tmpdir(), 'gh-cli-operational-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  /** Killed by this test because it did not end by itself. */
  hung: boolean;
  stdout: string;
  stderr: string;
}

/** Run a verb; kill it if it has not ended after `limitMs` (then `hung` is true). */
function runVerb(
  args: string[],
  config: Record<string, unknown>,
  env: Record<string, string> = {},
  limitMs = 90_000,
): { exit: Promise<Exit>; child: ChildProcess; stdout: () => string } {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(config));
  const child = spawn(process.execPath, [bin, ...args, '--config', file], {
    env: { ...cleanEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, limitMs);
  const exit = new Promise<Exit>((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, hung, stdout, stderr });
    });
  });
  return { exit, child, stdout: () => stdout };
}

/** A TCP server that accepts every connection and never says a word. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => {
    sockets.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const server = { host: '127.0.0.1', port: 0 };

describe('unreachable storage or shared state at start-up', { timeout: 300_000 }, () => {
  test('idp: a PostgreSQL that refuses connections stops it with GH_STORAGE_UNAVAILABLE and exit 1', async () => {
    const port = await closedPort();
    const r = await runVerb(['idp'], {
      server,
      storage: { driver: 'postgres', url: `postgres://gatehouse@127.0.0.1:${port}/gatehouse` },
    }).exit;
    assert.equal(r.hung, false);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^gatehouse idp: GH_STORAGE_UNAVAILABLE: PostgreSQL at 127\\.0\\.0\\.1:${port}/gatehouse does not answer`,
        'm',
      ),
    );
  });

  test('idp: a PostgreSQL that accepts and never answers stops it after the connect timeout, not never', async () => {
    const silent = await silentServer();
    try {
      const r = await runVerb(['idp'], {
        server,
        storage: {
          driver: 'postgres',
          url: `postgres://gatehouse@127.0.0.1:${silent.port}/gatehouse?connect_timeout=2`,
        },
      }).exit;
      assert.equal(r.hung, false);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /GH_STORAGE_UNAVAILABLE: PostgreSQL at 127\.0\.0\.1:\d+\/gatehouse does not answer/,
      );
    } finally {
      await silent.close();
    }
  });

  test('gateway: a Redis that refuses connections stops it with GH_STATE_UNAVAILABLE and exit 1', async () => {
    const port = await closedPort();
    const r = await runVerb(['gateway'], {
      server,
      state: { driver: 'redis', url: `redis://127.0.0.1:${port}` },
    }).exit;
    assert.equal(r.hung, false);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^gatehouse gateway: GH_STATE_UNAVAILABLE: Redis does not answer/m);
  });

  test('gateway: an in-process permission engine without PostgreSQL is refused before anything opens', async () => {
    const r = await runVerb(['gateway'], { server, gateway: { authz: {} } }, {}, 30_000).exit;
    assert.equal(r.hung, false);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gateway\.authz without a url .* needs storage\.driver: postgres/);
  });

  test('gateway: a Redis that accepts and never answers stops it within the start-up timeout', async () => {
    const silent = await silentServer();
    try {
      const started = Date.now();
      const r = await runVerb(['gateway'], {
        server,
        state: { driver: 'redis', url: `redis://127.0.0.1:${silent.port}` },
      }).exit;
      assert.equal(r.hung, false, `still running after ${Date.now() - started} ms`);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /GH_STATE_UNAVAILABLE: Redis does not answer: .+ \(after \d+ ms\)/);
    } finally {
      await silent.close();
    }
  });
});

describe('migrations and keys on a shared PostgreSQL', {
  skip: await skipUnlessService('postgres'),
  timeout: 400_000,
}, () => {
  const dbs: TestSql[] = [];
  after(async () => {
    for (const db of dbs) await db.cleanup();
  });

  test('two `gatehouse migrate` processes at once: each migration applied once, both exit 0', async () => {
    const db = await openTestSql('postgres');
    dbs.push(db);
    const config = { storage: { driver: 'postgres', url: db.url } };
    const [a, b] = await Promise.all([runVerb(['migrate'], config).exit, runVerb(['migrate'], config).exit]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const files = readdirSync(new URL('../../idp/migrations/', import.meta.url))
      .filter((f) => f.endsWith('.sql'))
      .map((f) => `idp/${f.replace(/\.sql$/, '')}`)
      .sort();
    // One of them applied everything; the other waited for the lock and found nothing left to do.
    const outputs = [a.stdout.trim(), b.stdout.trim()].sort();
    assert.deepEqual(outputs, [`applied: ${files.join(', ')}`, 'up to date: no migration to apply']);
    const rows = (await db.sql.query(
      `select component || '/' || id as file, count(*)::int4 as n from gatehouse_migrations group by 1 order by 1`,
    )) as { file: string; n: number }[];
    assert.deepEqual(
      rows.map((r) => [r.file, r.n]),
      files.map((f) => [f, 1]),
    );
  });

  test('an idp replica with another key-encryption secret refuses to start and signs nothing', async () => {
    const db = await openTestSql('postgres');
    dbs.push(db);
    const config = { server, storage: { driver: 'postgres', url: db.url }, demo: { enabled: false } };
    const first = runVerb(['idp'], config, {
      GATEHOUSE_IDP__KEY_ENCRYPTION_SECRET: 'the-first-replicas-secret-0123456789abcdef',
    });
    const deadline = Date.now() + 120_000;
    while (!first.stdout().includes('identity provider listening')) {
      if (first.child.exitCode !== null || Date.now() > deadline)
        assert.fail(`first replica: ${first.stdout()}`);
      // Waiting for the line that says it listens; the pause only spaces the checks.
      await new Promise((r) => setTimeout(r, 100));
    }
    first.child.kill('SIGTERM');
    assert.equal((await first.exit).code, 0);
    const keysBefore = await db.sql.query('select kid, state from idp_signing_keys order by kid');
    assert.ok(keysBefore.length > 0);

    const second = await runVerb(['idp'], config, {
      GATEHOUSE_IDP__KEY_ENCRYPTION_SECRET: 'another-secret-entirely-0123456789abcdefgh',
    }).exit;
    assert.equal(second.hung, false);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      /IDP_KEY_DECRYPT_FAILED: A stored signing key cannot be decrypted: idp\.keyEncryptionSecret differs from the one that stored it/,
    );
    assert.ok(!second.stdout.includes('identity provider listening'));
    // Nothing was added or rotated by the refused replica.
    assert.deepEqual(await db.sql.query('select kid, state from idp_signing_keys order by kid'), keysBefore);
  });
});
