import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
      ['server.prot: unknown key'],
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
});
