import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  parseBenchArgs,
  parseDuration,
  parsePair,
  parseStopRule,
  parseTarget,
  parseUsers,
} from '../src/bench/bench-options.ts';
import { scenarios } from '../src/bench/scenarios/index.ts';

const commandUrl = new URL('../src/commands/bench.ts', import.meta.url).href;

/** Runs the bench command object in a child process, as `gatehouse bench ARGS` would. */
function bench(args: string[]) {
  const script = `
    import { parseArgs } from 'node:util';
    import { benchCommand } from ${JSON.stringify(commandUrl)};
    const parsed = parseArgs({ args: process.argv.slice(1), options: benchCommand.options, strict: true });
    process.exitCode = (await benchCommand.run(parsed)) ?? 0;`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, '--', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench options', () => {
  test('read a list of user counts', () => {
    assert.deepEqual(parseUsers('1, 10,100,10'), [1, 10, 100]);
    assert.throws(() => parseUsers('1,0'), /--users: '0' is not a whole number from 1 to 10000/);
    assert.throws(() => parseUsers('1,x'), /--users: 'x'/);
  });

  test('read durations in ms, s and m', () => {
    assert.deepEqual(
      ['500ms', '10s', '2m', '3', '1.5s'].map((d) => parseDuration(d, 'duration')),
      [500, 10_000, 120_000, 3000, 1500],
    );
    assert.throws(() => parseDuration('10 hours', 'ramp'), /--ramp: '10 hours' is not a duration/);
  });

  test('take a duration or iterations, not both, defaulting to 10 s', () => {
    assert.deepEqual(parseStopRule(undefined, undefined), { durationMs: 10_000 });
    assert.deepEqual(parseStopRule(undefined, '7'), { iterations: 7 });
    assert.throws(() => parseStopRule('5s', '7'), /exclude each other/);
    assert.throws(() => parseStopRule(undefined, '0'), /--iterations/);
  });

  test('accept an http(s) target and keep its origin', () => {
    assert.equal(parseTarget('http://localhost:8080/'), 'http://localhost:8080');
    assert.throws(() => parseTarget('ftp://x'), /must be http or https/);
    assert.throws(() => parseTarget('nope'), /is not a URL/);
  });

  test('split NAME:SECRET at the first colon', () => {
    assert.deepEqual(parsePair('svc:a:b', 'client'), ['svc', 'a:b']);
    assert.throws(() => parsePair('svc', 'client'), /--client: expected NAME:SECRET/);
  });
});

describe('bench settings', () => {
  test('default to the demo accounts and clients of npm start', () => {
    const s = parseBenchArgs({ scenario: 'tokens' }, scenarios);
    assert.equal(s.scenario?.name, 'tokens');
    assert.deepEqual(
      {
        users: s.users,
        stop: s.stop,
        rampMs: s.rampMs,
        timeoutMs: s.timeoutMs,
        target: s.target,
        options: s.options,
      },
      {
        users: [1, 10, 100],
        stop: { durationMs: 10_000 },
        rampMs: 0,
        timeoutMs: 30_000,
        target: 'http://localhost:8080',
        options: {
          login: { username: 'alice', password: 'alice-password' },
          client: { id: 'demo-service', secret: 'demo-service-secret', auth: 'basic' },
          publicClient: { id: 'demo-app', redirectUri: 'http://localhost:8080/callback' },
          issuerPath: '/auth',
          accounts: 'register',
        },
      },
    );
    assert.equal(s.jsonFile, undefined);
  });

  test('refuse a value outside a fixed set', () => {
    assert.throws(
      () => parseBenchArgs({ scenario: 'shop', accounts: 'guess' }, scenarios),
      /--accounts: 'guess' is not 'register' or 'login'/,
    );
    assert.throws(
      () => parseBenchArgs({ scenario: 'tokens', 'client-auth': 'jwt' }, scenarios),
      /--client-auth: 'jwt' is not 'basic' or 'post'/,
    );
  });

  test('need no scenario with --self-test', () => {
    assert.equal(parseBenchArgs({ 'self-test': true }, scenarios).scenario, undefined);
  });
});

describe('gatehouse bench', () => {
  test('exits 2 with the usage when the scenario is missing', () => {
    const r = bench(['--users', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--scenario is required \(shop\|partscoder\|tokens\)/);
    assert.match(r.stderr, /Usage: gatehouse bench --scenario/);
  });

  test('exits 2 on an unknown scenario', () => {
    const r = bench(['--scenario', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown scenario 'nope'/);
  });

  test('exits 2 when given both a duration and iterations', () => {
    const r = bench(['--scenario', 'tokens', '--duration', '1s', '--iterations', '2']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--duration and --iterations exclude each other/);
  });

  test('exits 1 when nothing answers at the target', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const r = bench(['--scenario', 'tokens', '--target', `http://127.0.0.1:${port}`, '--iterations', '1']);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `gatehouse bench: nothing answers at http://127.0.0.1:${port} (ECONNREFUSED). Is it running (npm start)?\n`,
    );
    assert.equal(r.stdout, '');
  });

  test('--self-test prints the tables on stdout, progress on stderr, and writes JSON and SVG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
    const r = bench([
      '--self-test',
      '--users',
      '1,3',
      '--iterations',
      '5',
      '--json',
      join(dir, 'out.json'),
      '--svg',
      join(dir, 'out.svg'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^## gatehouse bench: self-test against http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(r.stdout, /^\| +1 \| trivial \| GET \/ +\| +5 \|/m);
    assert.match(r.stdout, /^\| +3 \| trivial \| GET \/ +\| +15 \|/m);
    assert.doesNotMatch(r.stdout, /users +1 \[/);
    assert.match(r.stderr, /^users +1 \[#+\] 100% /m);
    assert.match(r.stderr, /^users +3 \[#+\] 100% .* 15 steps {2}0 errors/m);
    const json = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
    assert.equal(json.scenario, 'self-test');
    assert.deepEqual(json.stop, { iterations: 5 });
    assert.deepEqual(
      json.levels.map((l: { users: number; requests: number }) => [l.users, l.requests]),
      [
        [1, 5],
        [3, 15],
      ],
    );
    assert.deepEqual(json.published.comparisons, []);
    assert.match(readFileSync(join(dir, 'out.svg'), 'utf8'), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  });
});
