import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byPackage } from '../bench/idp/profile-by-package.ts';

// A hand-made V8 profile: root → oidc-provider → native HMAC; root → postgres; root → node's stream
// writes → native write; idle and GC samples. timeDeltas[i + 1] is the time sample i stands for.
const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url },
  children,
});
const profile = {
  nodes: [
    frame(1, '(root)', '', [2, 4, 5, 7, 8, 9]),
    frame(2, 'issue', 'file:///app/node_modules/oidc-provider/lib/models/id_token.js', [3]),
    frame(3, 'createHmac', ''),
    frame(4, 'parse', 'file:///app/node_modules/postgres/cjs/src/connection.js'),
    frame(5, 'writeGeneric', 'node:internal/stream_base_commons', [6]),
    frame(6, 'writeBuffer', ''),
    frame(7, '(idle)', ''),
    frame(8, '(garbage collector)', ''),
    frame(9, 'findAccount', 'file:///app/packages/idp/src/accounts/accounts.ts'),
  ],
  samples: [3, 2, 4, 6, 7, 7, 8, 9, 2],
  timeDeltas: [0, 100, 150, 200, 300, 1000, 1000, 50, 25], // the last sample stands for no time
};

test('samples go to the package whose JavaScript ran, a native frame to its nearest JavaScript caller, idle left out', () => {
  assert.deepEqual(byPackage(profile), [
    ['node:internal/stream_base_commons', 300],
    ['npm:oidc-provider', 100 + 150],
    ['npm:postgres', 200],
    ['(garbage collector)', 50],
    ['ours:idp', 25],
  ]);
});

test('node: modules are named by module, node:internal by area', () => {
  const one = (url: string) =>
    byPackage({
      nodes: [frame(1, '(root)', '', [2]), frame(2, 'f', url)],
      samples: [2],
      timeDeltas: [0, 10],
    });
  assert.deepEqual(one('node:_http_outgoing'), [['node:_http_outgoing', 10]]);
  assert.deepEqual(one('node:internal/crypto/sig'), [['node:internal/crypto', 10]]);
  assert.deepEqual(one('node:internal/streams/writable'), [['node:internal/streams', 10]]);
  assert.deepEqual(one('file:///app/node_modules/@koa/router/lib/layer.js'), [['npm:@koa/router', 10]]);
  assert.deepEqual(one('file:///app/packages/core/src/sql.ts'), [['ours:core', 10]]);
});
