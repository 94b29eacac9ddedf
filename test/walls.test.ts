import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkDependencyImports,
  checkInternalMembers,
  checkWalls,
  type ImportEdge,
  parseExplainFiles,
} from '../scripts/walls.ts';

// Public entry points as package.json `exports` would give them.
const entries = (pkg: string) =>
  new Set(pkg === 'sdk' ? ['@gatehouse/sdk', '@gatehouse/sdk/express'] : [`@gatehouse/${pkg}`]);
const crossings = (edge: ImportEdge) => checkWalls([edge], entries);

describe('architecture walls', () => {
  test('core importing a service package is a crossing', () => {
    const found = crossings({
      from: 'packages/core/src/config.ts',
      to: 'packages/idp/src/index.ts',
      specifier: '@gatehouse/idp',
    });
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /core must not depend on idp/);
  });

  test('the SDK importing the gateway, and the gateway importing the idp, are crossings', () => {
    assert.match(
      crossings({
        from: 'packages/sdk/src/verifier.ts',
        to: 'packages/gateway/src/index.ts',
        specifier: '@gatehouse/gateway',
      })[0] ?? '',
      /sdk must not depend on gateway/,
    );
    assert.match(
      crossings({
        from: 'packages/gateway/src/upstreams/proxy.ts',
        to: 'packages/idp/src/keys/keys.ts',
        specifier: '../../idp/src/keys.ts',
      })[0] ?? '',
      /gateway must not depend on idp/,
    );
  });

  test('a package importing an example or a benchmark is a crossing', () => {
    assert.match(
      crossings({
        from: 'packages/cli/src/stack.ts',
        to: 'examples/shop/src/index.ts',
        specifier: '../../../examples/shop/src/index.ts',
      })[0] ?? '',
      /packages never import examples/,
    );
    assert.match(
      crossings({
        from: 'packages/cli/src/stack.ts',
        to: 'examples/example-contract.ts',
        specifier: '../../../examples/example-contract.ts',
      })[0] ?? '',
      /packages never import examples/,
    );
  });

  test('an example importing another example is a crossing; the shared kit is not', () => {
    assert.match(
      crossings({
        from: 'examples/sso/test/a.test.ts',
        to: 'examples/partscoder/src/x.ts',
        specifier: '../../partscoder/src/x.ts',
      })[0] ?? '',
      /never imports another example/,
    );
    assert.deepEqual(
      crossings({
        from: 'examples/sso/test/a.test.ts',
        to: 'examples/shared/test/real-stack.ts',
        specifier: '../../shared/test/real-stack.ts',
      }),
      [],
    );
  });

  test('examples and bench reach packages only through public entry points', () => {
    assert.match(
      crossings({
        from: 'bench/sdk/verify.ts',
        to: 'packages/sdk/src/verifier.ts',
        specifier: '../../packages/sdk/src/verifier.ts',
      })[0] ?? '',
      /public entry point of @gatehouse\/sdk/,
    );
    assert.deepEqual(
      crossings({
        from: 'examples/shop/src/a.ts',
        to: 'packages/sdk/src/guards/express.ts',
        specifier: '@gatehouse/sdk/express',
      }),
      [],
    );
  });

  test("a package's tests may run another package through its public entry, not its files", () => {
    assert.deepEqual(
      crossings({
        from: 'packages/gateway/test/bff-flow.test.ts',
        to: 'packages/idp/src/index.ts',
        specifier: '@gatehouse/idp',
      }),
      [],
    );
    assert.equal(
      crossings({
        from: 'packages/gateway/test/x.test.ts',
        to: 'packages/idp/src/keys/keys.ts',
        specifier: '../../idp/src/keys.ts',
      }).length,
      1,
    );
  });

  test('dependencies in node_modules and files of the same package pass', () => {
    assert.deepEqual(
      checkWalls(
        [
          { from: 'packages/core/src/config.ts', to: 'node_modules/ajv/dist/ajv.d.ts', specifier: 'ajv' },
          { from: 'packages/idp/src/a.ts', to: 'packages/idp/src/b.ts', specifier: './b.ts' },
        ],
        entries,
      ),
      [],
    );
  });

  test("tsc's file explanations become import edges", () => {
    const edges = parseExplainFiles(
      [
        'packages/core/src/errors.ts',
        "   Imported via './errors.ts' from file 'packages/core/src/body.ts'",
        "   Matched by include pattern 'packages/*/src/**/*.ts' in 'tsconfig.json'",
        'packages/sdk/src/index.ts',
        "   Imported via '@gatehouse/sdk' from file 'packages/gateway/src/gateway.ts' with packageId '@gatehouse/sdk/src/index.ts@0.1.0'",
      ].join('\n'),
    );
    assert.deepEqual(edges, [
      { from: 'packages/core/src/body.ts', to: 'packages/core/src/errors.ts', specifier: './errors.ts' },
      {
        from: 'packages/gateway/src/gateway.ts',
        to: 'packages/sdk/src/index.ts',
        specifier: '@gatehouse/sdk',
      },
    ]);
  });

  test("a dependency's files are imported only by its one module", () => {
    const edge = (from: string, specifier: string): ImportEdge => ({
      from,
      to: `node_modules/${specifier}.js`,
      specifier,
    });
    const found = checkDependencyImports([
      edge('packages/idp/src/protocol/provider.ts', 'oidc-provider/lib/helpers/errors'),
      edge('packages/idp/src/protocol/oidc-provider-internals.ts', 'oidc-provider/lib/helpers/errors'),
      edge('packages/gateway/src/ops/gateway-metrics.ts', 'prom-client/lib/histogram'),
      edge('packages/idp/src/protocol/provider.ts', 'oidc-provider'),
    ]);
    assert.equal(found.length, 2);
    assert.match(found[0] ?? '', /provider\.ts imports 'oidc-provider\/lib\/helpers\/errors'/);
    assert.match(found[1] ?? '', /gateway-metrics\.ts imports 'prom-client\/lib\/histogram'/);
  });

  test("a dependency's undocumented members are named only in its one module, comments aside", () => {
    const source = [
      "  Object.defineProperty(Client.prototype, 'compareClientSecret', {",
      '  Client.find = async function cachedFind(id) {',
      '  // compareClientSecret, in a comment, is no use of it',
      '   * nor is Client.find = in a doc comment',
      '  const client = await provider.Client.find(id);',
      '  session.destroyed',
    ].join('\n');
    const found = checkInternalMembers('packages/idp/src/protocol/clients.ts', source);
    assert.deepEqual(
      found.map((f) => f.split(' ')[0]),
      [
        'packages/idp/src/protocol/clients.ts:1',
        'packages/idp/src/protocol/clients.ts:2',
        'packages/idp/src/protocol/clients.ts:6',
      ],
    );
    assert.deepEqual(
      checkInternalMembers('packages/idp/src/protocol/oidc-provider-internals.ts', source),
      [],
    );
    assert.deepEqual(checkInternalMembers('packages/idp/test/clients.test.ts', source), []);
    // The gateway's sockets have a destroyed flag too: oidc-provider's members count in the idp only.
    assert.deepEqual(checkInternalMembers('packages/gateway/src/upstreams/proxy.ts', source), []);
  });

  test("prom-client's private table and replaced metric methods count in every package", () => {
    const source = [
      'const table = (histogram as unknown as { hashMap: object }).hashMap;',
      'counter.reset = () => {};',
      'if (counter.reset === undefined) return;',
    ].join('\n');
    const found = checkInternalMembers('packages/gateway/src/ops/gateway-metrics.ts', source);
    assert.equal(found.length, 2);
    assert.match(found[0] ?? '', /:1 relies on prom-client's inside \(a metric's private label table\)/);
    assert.match(found[1] ?? '', /:2 relies on prom-client's inside \(a replaced metric method\)/);
  });
});
