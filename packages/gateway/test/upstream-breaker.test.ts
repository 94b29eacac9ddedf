import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CircuitBreaker } from '../src/upstreams/circuit-breaker.ts';
import { type Front, Replica, startFront, waitFor } from './upstream-fixtures.ts';

describe('circuit breaker state machine', () => {
  test('opens after the threshold, goes half-open after openMs, and one good trial closes it', () => {
    let now = 1000;
    const changes: string[] = [];
    const breaker = new CircuitBreaker({
      failureThreshold: 3,
      openMs: 500,
      now: () => now,
      onStateChange: (s) => changes.push(s),
    });
    breaker.failure();
    breaker.failure();
    assert.equal(breaker.state, 'closed');
    breaker.success(); // a success in between resets the count
    breaker.failure();
    breaker.failure();
    assert.equal(breaker.state, 'closed');
    breaker.failure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.tryPass(), false);
    assert.equal(breaker.openUntil, 1500);
    now = 1500;
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.tryPass(), true);
    assert.equal(breaker.tryPass(), false, 'only one trial at a time');
    breaker.success();
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(changes, ['open', 'half-open', 'closed']);
  });

  test('a failed half-open trial opens it again for another openMs', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 100, now: () => now });
    breaker.failure();
    now = 100;
    assert.equal(breaker.tryPass(), true);
    breaker.failure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.openUntil, 200);
  });
});

describe('route circuit breaker through the proxy', () => {
  let failing = true;
  const flaky = new Replica('flaky', (_req, res) => {
    if (failing) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'overloaded' }));
      return;
    }
    res.end(JSON.stringify({ replica: 'flaky' }));
  });
  let front: Front;
  before(async () => {
    await flaky.start();
    front = await startFront({
      upstreams: [flaky.url],
      retries: 0,
      circuitBreaker: { failureThreshold: 2, openMs: 300 },
    });
  });
  after(async () => {
    await front.close();
    await flaky.kill();
  });

  test('upstream 503 answers pass through until the breaker opens, then 503 GW_CIRCUIT_OPEN, then it recovers', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${front.url}/x`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { error: 'overloaded' });
    }
    const open = await fetch(`${front.url}/x`);
    assert.equal(open.status, 503);
    assert.equal(open.headers.get('retry-after'), '1');
    assert.deepEqual(await open.json(), {
      error: 'GW_CIRCUIT_OPEN',
      message: 'The upstream is failing; try again later',
    });
    assert.equal(flaky.hits.length, 2, 'the open breaker kept the request off the upstream');

    failing = false;
    let last = 0;
    await waitFor(
      async () => {
        const res = await fetch(`${front.url}/x`);
        await res.arrayBuffer();
        last = res.status;
        return res.status !== 503;
      },
      15_000,
      'the breaker to let a trial through',
    );
    assert.equal(last, 200);
    const after = await fetch(`${front.url}/x`);
    assert.equal(after.status, 200);
    assert.deepEqual(await after.json(), { replica: 'flaky' });
  });
});

describe('application errors are not outages', () => {
  const buggy = new Replica('buggy', (_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'bug' }));
  });
  let front: Front;
  before(async () => {
    await buggy.start();
    front = await startFront({
      upstreams: [buggy.url],
      retries: 0,
      circuitBreaker: { failureThreshold: 2, openMs: 60_000 },
    });
  });
  after(async () => {
    await front.close();
    await buggy.kill();
  });

  test('repeated 500 answers pass through and neither eject the replica nor open the breaker', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${front.url}/x`);
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), { error: 'bug' });
    }
    assert.deepEqual(front.pool.status(), [
      { url: buggy.url, healthy: true, ejected: false, outstanding: 0 },
    ]);
  });
});
