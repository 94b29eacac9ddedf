// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configuration references are written ${...} literally
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { commands } from '../src/commands/index.ts';

const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

function gatehouse(args: string[], env: Record<string, string> = {}) {
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')),
  );
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...cleanEnv, NODE_ENV: '', ...env },
    cwd: mkdtempSync(join(tmpdir(), 'gh-cli-')),
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gh-cli-config-')), 'gatehouse.yaml');
  writeFileSync(file, text);
  return file;
}

describe('gatehouse command', () => {
  test('--help lists every verb', () => {
    const r = gatehouse(['--help']);
    assert.equal(r.code, 0);
    for (const c of commands)
      assert.match(r.stdout, new RegExp(`^  ${c.name} +${c.summary.slice(0, 20)}`, 'm'));
  });

  for (const c of commands) {
    test(`${c.name} --help prints its usage and exits 0`, () => {
      const r = gatehouse([c.name, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.includes(`Usage: ${c.usage}`), r.stdout);
      assert.ok(r.stdout.includes('-h, --help'), r.stdout);
    });
  }

  test('an unknown verb exits 2 and says so', () => {
    const r = gatehouse(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
  });

  test('an unknown option exits 2 with the usage', () => {
    const r = gatehouse(['config', '--frob']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option '--frob'/);
    assert.match(r.stderr, /Usage: gatehouse config/);
  });
});

describe('gatehouse dev refuses a bad configuration', () => {
  test('an unknown key exits 1 naming the key', () => {
    const r = gatehouse(['dev', '--config', configFile('server:\n  prot: 8080\n')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /server\.prot: unknown key/);
  });

  test('a wrong type exits 1 naming the key', () => {
    const r = gatehouse(['dev', '--config', configFile('server:\n  port: eighty\n')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /server\.port: must be an integer/);
  });

  test('a bad URL exits 1 naming the key', () => {
    const r = gatehouse(['dev', '--config', configFile('server:\n  publicUrl: "not a url"\n')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /server\.publicUrl: must be a valid URL/);
  });

  test('a bad value in the environment exits 1 naming the key', () => {
    const r = gatehouse(['dev'], { GATEHOUSE_STATE__DRIVER: 'memcached' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /state\.driver: must be one of memory, redis/);
  });

  test('a bad value in the environment names the variable it came from', () => {
    const r = gatehouse(['dev'], { GATEHOUSE_STATE__DRIVER: 'memcached' });
    assert.match(r.stderr, /\(defaults and environment\)/);
    assert.match(
      r.stderr,
      /state\.driver: must be one of memory, redis \(from environment variable GATEHOUSE_STATE__DRIVER\)/,
    );
  });

  test('a placeholder left in the file is refused, an unset variable named', () => {
    const placeholder = gatehouse(['config', '--config', configFile('state:\n  keyPrefix: ${PREFIX}\n')]);
    assert.equal(placeholder.code, 1);
    assert.match(
      placeholder.stderr,
      /state\.keyPrefix: \$\{PREFIX\} is a placeholder, not a value: write \$\{env:PREFIX\}/,
    );
    const unset = gatehouse([
      'config',
      '--config',
      configFile('state:\n  keyPrefix: ${env:GH_CLI_TEST_UNSET}\n'),
    ]);
    assert.equal(unset.code, 1);
    assert.match(unset.stderr, /environment variable GH_CLI_TEST_UNSET is not set/);
  });

  test('gatehouse config prints a password read into a URL as [redacted]', () => {
    const file = configFile(
      'storage:\n  driver: postgres\n  url: postgres://app:${env:DB_PASSWORD}@db.example/app\n',
    );
    const r = gatehouse(['config', '--config', file], { DB_PASSWORD: 'hunter2-very-secret' });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes('hunter2-very-secret'));
    assert.match(r.stdout, /"url": "postgres:\/\/app:\[redacted\]@db\.example\/app"/);
  });

  test('a configuration a verb refuses at start is one line with its code, exit 1, no stack', () => {
    const r = gatehouse(['migrate', '--config', configFile('storage:\n  driver: postgres\n')]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      'gatehouse migrate: GH_CONFIG_INVALID: storage.url is required for this driver',
    );
  });

  test('production mode refuses the development key secret and demo accounts', () => {
    const r = gatehouse(['dev', '--config', configFile('mode: production\ndemo:\n  enabled: true\n')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to start in production mode/);
    assert.match(r.stderr, /demo\.enabled: demo accounts are refused in production/);
    assert.match(r.stderr, /idp\.keyEncryptionSecret: /);
  });

  const secret = 'a-production-secret-of-at-least-32-characters';
  const complete = `mode: production
server:
  publicUrl: https://auth.example.com
storage:
  driver: postgres
  url: postgres://127.0.0.1:1/gatehouse
state:
  driver: redis
  url: redis://127.0.0.1:1
idp:
  keyEncryptionSecret: ${secret}
`;

  test('config refuses a production file without storage.url or state.url, naming each', () => {
    const r = gatehouse([
      'config',
      '--config',
      configFile(`mode: production
server:
  publicUrl: https://auth.example.com
idp:
  keyEncryptionSecret: ${secret}
`),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not valid for production/);
    assert.match(r.stderr, /storage\.url: production needs PostgreSQL/);
    assert.match(r.stderr, /state\.url: production needs Redis/);
    assert.doesNotMatch(r.stderr, /keyEncryptionSecret/);
    assert.equal(gatehouse(['config', '--quiet', '--config', configFile(complete)]).code, 0);
  });

  test('the gateway verb does not ask for the key-encryption secret, which it never reads', () => {
    const file = configFile(complete.replace(/idp:\n.*\n/, ''));
    assert.match(gatehouse(['config', '--config', file]).stderr, /idp\.keyEncryptionSecret: /);
    // It gets past the production checks and fails on Redis, which does not answer on that port, instead.
    const r = gatehouse(['gateway', '--config', file]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, /refusing to start in production mode/);
    assert.doesNotMatch(r.stderr, /keyEncryptionSecret/);
  });

  test('NODE_ENV=production alone turns production mode on', () => {
    const r = gatehouse(['config', '--quiet'], { NODE_ENV: 'production' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /idp\.keyEncryptionSecret: /);
  });
});

describe('gatehouse migrate and keys on an embedded data folder', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-cli-data-'));
  const env = { GATEHOUSE_STORAGE__DATA_DIR: dataDir };

  test('migrate applies the migrations once, then has nothing to do', () => {
    const first = gatehouse(['migrate'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^applied: idp\/0001_oidc, idp\/0002_accounts/m);
    const second = gatehouse(['migrate'], env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout.trim(), 'up to date: no migration to apply');
  });

  test('keys rotate publishes a key and keys list shows it active', () => {
    const rotate = gatehouse(['keys', 'rotate'], env);
    assert.equal(rotate.code, 0, rotate.stderr);
    const list = gatehouse(['keys', 'list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const keys = JSON.parse(list.stdout) as { kid: string; state: string; alg: string }[];
    // One active key of the signing algorithm, and one RSA key for the clients that ask for RS256 ID tokens.
    const active = keys.filter((k) => k.state === 'active');
    assert.deepEqual(active.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    assert.deepEqual([...new Set(keys.map((k) => k.alg))].sort(), ['ES256', 'RS256']);
    assert.ok(rotate.stdout.includes(active.find((k) => k.alg === 'ES256')!.kid));
  });

  test('keys without an action exits 2', () => {
    const r = gatehouse(['keys'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /say 'list' or 'rotate'/);
  });
});

test('bin.ts is committed executable, so installing leaves the tree clean', () => {
  const entry = execFileSync('git', ['ls-files', '--stage', 'packages/cli/src/bin.ts'], { encoding: 'utf8' });
  assert.match(entry, /^100755 /);
});
