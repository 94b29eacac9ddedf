import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Front, Replica, startFront } from './upstream-fixtures.ts';

describe('per-route timeout', () => {
  const pending: (() => void)[] = [];
  const stuck = new Replica('stuck', (_req, res) => {
    // Never answers until the test ends.
    pending.push(() => res.end());
  });
  const other = new Replica('other');
  let front: Front;
  before(async () => {
    await Promise.all([stuck.start(), other.start()]);
    front = await startFront({ upstreams: [stuck.url, other.url], timeoutMs: 300, retries: 1 });
  });
  after(async () => {
    for (const end of pending) end();
    await front.close();
    await Promise.all([stuck.kill(), other.kill()]);
  });

  test('an upstream that does not answer in time gives 504 GW_UPSTREAM_TIMEOUT, and the timeout is not retried', async () => {
    const res = await fetch(`${front.url}/slow`);
    assert.equal(res.status, 504);
    assert.deepEqual(await res.json(), {
      error: 'GW_UPSTREAM_TIMEOUT',
      message: 'The upstream did not answer in time',
    });
    assert.equal(stuck.hits.length, 1);
    assert.equal(other.hits.length, 0);
  });
});
