// biome-ignore-all lint/suspicious/noTemplateCurlyInString: configuration references are written ${...} literally
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, type CoreConfig, loadConfig } from '../src/config.ts';

const gatewaySection = {
  type: 'object',
  additionalProperties: false,
  properties: { routes: { type: 'array', default: [] } },
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    // A catalog code like every other error, with the problems as its details.
    assert.equal(err.code, 'GH_CONFIG_INVALID');
    assert.deepEqual(err.details?.['problems'], err.problems);
    return err.problems;
  }
  assert.fail('expected the configuration to be refused');
}

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, text);
  return file;
}

describe('configuration', () => {
  test('defaults fill every core section when no file is given', () => {
    const config = loadConfig<CoreConfig>({ env: {} });
    assert.deepEqual(config.server, {
      host: '127.0.0.1',
      port: 8080,
      publicUrl: 'http://localhost:8080',
      shutdownTimeoutMs: 4000,
      drainDelayMs: 0,
    });
    assert.equal(config.mode, 'development');
    assert.deepEqual(config.storage, { driver: 'pglite', dataDir: '.gatehouse/data' });
    assert.deepEqual(config.state, { driver: 'memory', keyPrefix: 'gatehouse:' });
  });

  test('a YAML file is read and its values kept', () => {
    const file = yamlFile('server:\n  port: 9090\nstate:\n  driver: redis\n  url: redis://127.0.0.1:6379\n');
    const config = loadConfig<CoreConfig>({ file, env: {} });
    assert.equal(config.server.port, 9090);
    assert.equal(config.state.url, 'redis://127.0.0.1:6379');
  });

  test('an unknown key is refused with its dotted name', () => {
    assert.deepEqual(
      problemsOf(() => loadConfig({ document: { server: { prot: 1 } }, env: {} })),
      ['server.prot: unknown key'],
    );
  });

  test('an unknown top-level section is refused', () => {
    assert.deepEqual(
      problemsOf(() => loadConfig({ document: { gatway: {} }, env: {} })),
      ['gatway: unknown key'],
    );
  });

  test('a wrong type is refused naming the key and the expected type', () => {
    assert.deepEqual(
      problemsOf(() => loadConfig({ document: { server: { port: 'eighty' } }, env: {} })),
      ['server.port: must be an integer'],
    );
  });

  test('a bad URL is refused naming the key', () => {
    const problems = problemsOf(() =>
      loadConfig({ document: { server: { publicUrl: 'not a url' } }, env: {} }),
    );
    assert.ok(problems.includes('server.publicUrl: must be a valid URL'), problems.join('; '));
  });

  test('a URL with the wrong scheme is refused', () => {
    const problems = problemsOf(() =>
      loadConfig({ document: { storage: { driver: 'postgres', url: 'mysql://x/y' } }, env: {} }),
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^storage\.url: has the wrong form/);
  });

  test('environment variables override the file, typed as YAML scalars', () => {
    const file = yamlFile('server:\n  port: 9090\n');
    const config = loadConfig<CoreConfig>({
      file,
      env: { GATEHOUSE_SERVER__PORT: '8181', GATEHOUSE_SERVER__PUBLIC_URL: 'https://id.example.com' },
    });
    assert.equal(config.server.port, 8181);
    assert.equal(config.server.publicUrl, 'https://id.example.com');
  });

  test('an unknown key set through the environment is refused too', () => {
    assert.deepEqual(
      problemsOf(() => loadConfig({ env: { GATEHOUSE_SERVER__PROT: '1' } })),
      ['server.prot: unknown key (from environment variable GATEHOUSE_SERVER__PROT)'],
    );
  });

  test('GATEHOUSE_MODE sets the mode and other variables without a section are not configuration', () => {
    const config = loadConfig<CoreConfig>({
      env: { GATEHOUSE_MODE: 'production', GATEHOUSE_SSO_APP1_PORT: '9' },
    });
    assert.equal(config.mode, 'production');
  });

  test('NODE_ENV=production forces production mode', () => {
    assert.equal(loadConfig<CoreConfig>({ env: { NODE_ENV: 'production' } }).mode, 'production');
  });

  test('sections of other packages are validated with their own schema', () => {
    const config = loadConfig<{ gateway: { routes: unknown[] } }>({
      env: {},
      sections: { gateway: gatewaySection },
    });
    assert.deepEqual(config.gateway, { routes: [] });
    assert.deepEqual(
      problemsOf(() =>
        loadConfig({ document: { gateway: { route: [] } }, env: {}, sections: { gateway: gatewaySection } }),
      ),
      ['gateway.route: unknown key'],
    );
  });

  test('a file that is not YAML is refused with the parser message', () => {
    const file = yamlFile('server: [unclosed\n');
    const problems = problemsOf(() => loadConfig({ file, env: {} }));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^not valid YAML: /);
  });

  test('a missing file is refused', () => {
    const problems = problemsOf(() => loadConfig({ file: '/nonexistent/gatehouse.yaml', env: {} }));
    assert.match(problems[0]!, /^cannot read file: /);
  });

  test('a bad value from the environment names the variable, and the message says the environment', () => {
    const file = yamlFile('server:\n  port: 9090\n');
    try {
      loadConfig({ file, env: { GATEHOUSE_SERVER__PUBLIC_URL: 'not a url' } });
      assert.fail('expected the configuration to be refused');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        'server.publicUrl: has the wrong form (expected to match ^https?://) (from environment variable GATEHOUSE_SERVER__PUBLIC_URL)',
        'server.publicUrl: must be a valid URL (from environment variable GATEHOUSE_SERVER__PUBLIC_URL)',
      ]);
      assert.match(err.message, /^invalid configuration \(.*gatehouse\.yaml and environment\)/);
    }
  });

  test('a bad value from the file does not blame the environment', () => {
    const file = yamlFile('server:\n  port: eighty\n');
    assert.deepEqual(
      problemsOf(() => loadConfig({ file, env: { GATEHOUSE_SERVER__HOST: '0.0.0.0' } })),
      ['server.port: must be an integer'],
    );
  });
});

describe('configuration references: ${env:NAME} and ${file:PATH}', () => {
  test('${env:NAME} is replaced by the variable, whole or inside a value', () => {
    const file = yamlFile(
      'server:\n  publicUrl: ${env:PUBLIC_URL}\nstorage:\n  driver: postgres\n  url: postgres://app:${env:DB_PASSWORD}@db/app\n',
    );
    const config = loadConfig<CoreConfig>({
      file,
      env: { PUBLIC_URL: 'https://id.example.com', DB_PASSWORD: 's3cret' },
    });
    assert.equal(config.server.publicUrl, 'https://id.example.com');
    assert.equal(config.storage.url, 'postgres://app:s3cret@db/app');
  });

  test('the expanded value is typed by the schema: a reference to a number stays a string', () => {
    const file = yamlFile('server:\n  port: ${env:PORT}\n');
    assert.deepEqual(
      problemsOf(() => loadConfig({ file, env: { PORT: '9090' } })),
      ['server.port: must be an integer'],
    );
  });

  test('an unset variable is an error naming it and the key', () => {
    const file = yamlFile('server:\n  publicUrl: ${env:GH_TEST_UNSET_VARIABLE}\n');
    assert.deepEqual(
      problemsOf(() => loadConfig({ file, env: {} })),
      [
        'server.publicUrl: environment variable GH_TEST_UNSET_VARIABLE is not set (${env:GH_TEST_UNSET_VARIABLE})',
      ],
    );
  });

  test('an empty variable counts as unset', () => {
    const file = yamlFile('state:\n  keyPrefix: ${env:PREFIX}\n');
    assert.match(problemsOf(() => loadConfig({ file, env: { PREFIX: '' } }))[0]!, /PREFIX is not set/);
  });

  test('${file:PATH} reads a secret file relative to the configuration file, without its final newline', () => {
    const file = yamlFile('state:\n  keyPrefix: ${file:prefix.txt}\n');
    writeFileSync(join(dirname(file), 'prefix.txt'), 'from-a-file:\n');
    assert.equal(loadConfig<CoreConfig>({ file, env: {} }).state.keyPrefix, 'from-a-file:');
  });

  test('a missing file is an error naming it and the key', () => {
    const file = yamlFile('state:\n  keyPrefix: ${file:/nonexistent/secret}\n');
    assert.deepEqual(
      problemsOf(() => loadConfig({ file, env: {} })),
      ['state.keyPrefix: cannot read /nonexistent/secret (${file:/nonexistent/secret}): ENOENT'],
    );
  });

  test('a shell-style placeholder is refused, never taken as the value', () => {
    const file = yamlFile('state:\n  keyPrefix: ${BFF_CLIENT_SECRET}\n');
    assert.deepEqual(
      problemsOf(() => loadConfig({ file, env: { BFF_CLIENT_SECRET: 'x'.repeat(40) } })),
      [
        'state.keyPrefix: ${BFF_CLIENT_SECRET} is a placeholder, not a value: write ${env:BFF_CLIENT_SECRET} to read an environment variable, or ${file:PATH} to read a file',
      ],
    );
  });

  test('references inside lists are expanded too', () => {
    const config = loadConfig<{ gateway: { routes: unknown[] } }>({
      document: { gateway: { routes: ['${env:ROUTE}'] } },
      env: { ROUTE: 'r1' },
      sections: { gateway: gatewaySection },
    });
    assert.deepEqual(config.gateway.routes, ['r1']);
  });

  test('a reference in an environment override is expanded, and its problem names the variable', () => {
    assert.deepEqual(
      problemsOf(() => loadConfig({ env: { GATEHOUSE_STATE__KEY_PREFIX: '${env:NOPE_UNSET}' } })),
      [
        'state.keyPrefix: environment variable NOPE_UNSET is not set (${env:NOPE_UNSET}) (from environment variable GATEHOUSE_STATE__KEY_PREFIX)',
      ],
    );
  });

  test('an expanded value may itself contain ${...}: only what was written is checked', () => {
    const file = yamlFile('state:\n  keyPrefix: ${env:PREFIX}\n');
    assert.equal(loadConfig<CoreConfig>({ file, env: { PREFIX: 'a${b}' } }).state.keyPrefix, 'a${b}');
  });
});
