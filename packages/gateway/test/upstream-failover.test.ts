import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_REPLICA_CHECK } from '../src/validate-config.ts';
import { deadPort, type Front, Replica, startFront, waitFor } from './upstream-fixtures.ts';

/** Send `total` GETs, `concurrency` at a time; calls `onProgress` after each with the count done. */
async function load(
  url: string,
  total: number,
  concurrency: number,
  onProgress: (done: number) => Promise<void> | void,
) {
  const statuses: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      const res = await fetch(url);
      await res.arrayBuffer();
      statuses.push(res.status);
      await onProgress(statuses.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

describe('one of two replicas dies under load', () => {
  const a = new Replica('a');
  const b = new Replica('b');
  let front: Front;
  before(async () => {
    await Promise.all([a.start(), b.start()]);
    front = await startFront({
      upstreams: [a.url, b.url],
      retries: 1,
      healthCheck: {
        path: '/health',
        intervalMs: 100,
        timeoutMs: 1000,
        unhealthyThreshold: 2,
        healthyThreshold: 2,
      },
      circuitBreaker: { failureThreshold: 3, openMs: 60_000 },
    });
  });
  after(async () => {
    await front.close();
    await Promise.all([a.kill(), b.kill()]);
  });

  test('every idempotent GET succeeds, the dead replica is ejected, and it is re-admitted when it returns', async () => {
    let killed: Promise<void> | undefined;
    const statuses = await load(`${front.url}/items`, 300, 10, async (done) => {
      if (done === 50) killed = b.kill();
    });
    await killed;
    assert.equal(statuses.length, 300);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );

    const deadB = () => front.pool.status().find((s) => s.url === b.url)!;
    await waitFor(() => deadB().ejected || !deadB().healthy, 15_000, 'replica b to be taken out');
    const hitsBefore = b.hits.length;
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${front.url}/items`);
      assert.deepEqual(await res.json(), { replica: 'a' });
    }

    await b.start(); // same port
    await waitFor(() => deadB().healthy && !deadB().ejected, 15_000, 'replica b to be re-admitted');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${front.url}/items`);
      seen.push(((await res.json()) as { replica: string }).replica);
    }
    assert.deepEqual(seen.toSorted(), ['a', 'a', 'b', 'b']);
    assert.equal(b.hits.length, hitsBefore + 2);
  });
});

describe('no replica can take the request', () => {
  const sick = new Replica('sick');
  let refused: Front;
  let unhealthy: Front;
  before(async () => {
    await sick.start();
    sick.healthStatus = 503;
    refused = await startFront({ upstreams: [`http://127.0.0.1:${await deadPort()}`], retries: 0 });
    unhealthy = await startFront({
      upstreams: [sick.url],
      healthCheck: {
        path: '/health',
        intervalMs: 60_000,
        timeoutMs: 1000,
        unhealthyThreshold: 2,
        healthyThreshold: 1,
      },
    });
  });
  after(async () => {
    await refused.close();
    await unhealthy.close();
    await sick.kill();
  });

  test('connection refused answers 502 GW_UPSTREAM_UNAVAILABLE', async () => {
    const res = await fetch(`${refused.url}/x`);
    assert.equal(res.status, 502);
    assert.deepEqual(await res.json(), {
      error: 'GW_UPSTREAM_UNAVAILABLE',
      message: 'The upstream could not be reached',
    });
  });

  test('a replica failing its health checks is taken out, and the route answers 503 GW_NO_HEALTHY_UPSTREAM', async () => {
    await unhealthy.pool.checkHealth();
    assert.equal(unhealthy.pool.status()[0]!.healthy, true, 'one failed probe is below the threshold');
    await unhealthy.pool.checkHealth();
    assert.equal(unhealthy.pool.status()[0]!.healthy, false);
    const res = await fetch(`${unhealthy.url}/x`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      error: 'GW_NO_HEALTHY_UPSTREAM',
      message: 'No healthy upstream replica is available',
    });
    assert.equal(sick.hits.length, 0);

    sick.healthStatus = 200;
    await unhealthy.pool.checkHealth();
    assert.equal(unhealthy.pool.status()[0]!.healthy, true);
    const ok = await fetch(`${unhealthy.url}/x`);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { replica: 'sick' });
  });
});

describe('health probes under load', () => {
  let release: () => void = () => {};
  const busy = new Replica('busy', (req, res) => {
    if (req.url === '/hold') {
      release = () => res.end(JSON.stringify({ replica: 'busy' }));
      return;
    }
    res.end(JSON.stringify({ replica: 'busy' }));
  });
  let front: Front;
  before(async () => {
    await busy.start();
    front = await startFront({
      upstreams: [busy.url],
      connections: 1,
      healthCheck: {
        path: '/health',
        intervalMs: 60_000,
        timeoutMs: 2000,
        unhealthyThreshold: 1,
        healthyThreshold: 1,
      },
    });
  });
  after(async () => {
    release();
    await front.close();
    await busy.kill();
  });

  test('a probe does not queue behind traffic: a replica whose connections are all busy stays healthy', async () => {
    const held = fetch(`${front.url}/hold`);
    await waitFor(() => busy.hits.length === 1, 15_000, 'the held request to arrive');
    await front.pool.checkHealth();
    assert.deepEqual(front.pool.status(), [{ url: busy.url, healthy: true, ejected: false, outstanding: 1 }]);
    release();
    assert.equal((await held).status, 200);
  });
});

describe('the default check of a route with several replicas', () => {
  // Whatever paths a service has: any answer below 500 means it is up.
  const notFound = new Replica('not-found', (_req, res) => {
    res.writeHead(404).end();
  });
  const draining = new Replica('draining', (_req, res) => {
    res.writeHead(503).end();
  });
  let front: Front;
  let dead: string;
  before(async () => {
    await Promise.all([notFound.start(), draining.start()]);
    dead = `http://127.0.0.1:${await deadPort()}`;
    front = await startFront({
      upstreams: [notFound.url, draining.url, dead],
      healthCheck: { ...DEFAULT_REPLICA_CHECK, intervalMs: 100 },
    });
  });
  after(async () => {
    await front.close();
    await Promise.all([notFound.kill(), draining.kill()]);
  });

  test('a replica answering 404 stays in; one answering 503 and one refusing connections are taken out', async () => {
    const healthy = () => Object.fromEntries(front.pool.status().map((s) => [s.url, s.healthy]));
    await waitFor(() => !healthy()[dead] && !healthy()[draining.url], 15_000, 'the two to be taken out');
    assert.deepEqual(healthy(), { [notFound.url]: true, [draining.url]: false, [dead]: false });
  });
});
