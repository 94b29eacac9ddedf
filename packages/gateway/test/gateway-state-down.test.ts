import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState, storageErrors } from '@gatehouse/core';
import {
  type Harness,
  type Keys,
  makeKeys,
  mintToken,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

/** A state whose reads and writes fail, as Redis does when it goes away; subscribing still works. */
function failingState(inner: SharedState): SharedState {
  const down = () => Promise.reject(storageErrors.create('GH_STATE_UNAVAILABLE', 'Redis does not answer'));
  return Object.assign(Object.create(inner) as SharedState, {
    get: down,
    takeToken: down,
    ping: down,
    subscribe: inner.subscribe.bind(inner),
  });
}

let upstream: Upstream;
let inner: SharedState;
let gw: Harness;
let keys: Keys;

before(async () => {
  upstream = await startEcho();
  inner = await openState({ driver: 'memory' });
  keys = await makeKeys();
  gw = await startGateway(
    {
      routes: [
        { id: 'echo', match: { path: '/echo' }, upstreams: [upstream.url], policy: 'authenticated' },
        {
          id: 'limited',
          match: { path: '/limited' },
          upstreams: [upstream.url],
          policy: 'public',
          rateLimit: { average: 10, period: '1s', burst: 10 },
        },
      ],
    },
    { keys, state: failingState(inner) },
  );
});

after(async () => {
  await gw.close();
  await inner.close();
  await upstream.close();
});

describe('when the shared state does not answer, the gateway fails closed', () => {
  test('a token whose revocation cannot be checked: 503 SDK_REVOCATION_UNAVAILABLE, not a pass', async () => {
    const before = upstream.received.length;
    const a = await send(gw.url, '/echo', {
      headers: [['Authorization', `Bearer ${await mintToken(keys)}`]],
    });
    assert.equal(a.status, 503);
    assert.equal(a.json().error, 'SDK_REVOCATION_UNAVAILABLE');
    assert.equal(upstream.received.length, before);
  });

  test('a rate limit that cannot count: 503 GH_STATE_UNAVAILABLE, not a pass', async () => {
    const before = upstream.received.length;
    const a = await send(gw.url, '/limited');
    assert.equal(a.status, 503);
    assert.equal(a.json().error, 'GH_STATE_UNAVAILABLE');
    assert.equal(upstream.received.length, before);
  });

  test('readiness reports the state failing: 503', async () => {
    const a = await send(gw.url, '/_gatehouse/health/ready');
    assert.equal(a.status, 503);
    assert.deepEqual(a.json(), { status: 'failing', checks: { state: 'failing' } });
  });
});
