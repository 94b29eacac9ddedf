import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { deadPort, type Front, Replica, startFront, waitFor } from './upstream-fixtures.ts';

describe('retries on another replica', () => {
  const live = new Replica('live', (req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ replica: 'live', method: req.method, body }));
  });
  let front: Front;
  before(async () => {
    await live.start();
    // The dead replica comes first, so round-robin tries it first.
    front = await startFront({ upstreams: [`http://127.0.0.1:${await deadPort()}`, live.url], retries: 1 });
  });
  after(async () => {
    await front.close();
    await live.kill();
  });

  test('a GET refused by one replica is answered by the other', async () => {
    const res = await fetch(`${front.url}/a`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { replica: 'live', method: 'GET', body: '' });
  });

  test('a PUT refused by one replica is sent, body intact, to the other', async () => {
    // Round-robin is back on the dead replica for this request.
    const res = await fetch(`${front.url}/b`, {
      method: 'PUT',
      body: '{"n":1}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { replica: 'live', method: 'PUT', body: '{"n":1}' });
  });

  test('a POST refused by one replica never reached it, so the other answers it', async () => {
    const before = live.hits.length;
    // Two POSTs: whichever replica round-robin starts on, one of them lands on the dead replica first.
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${front.url}/orders`, { method: 'POST', body: 'x' });
      assert.deepEqual(await res.json(), { replica: 'live', method: 'POST', body: 'x' });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, [200, 200]);
    assert.equal(live.hits.length, before + 2);
  });
});

describe('a POST refused by every replica', () => {
  let front: Front;
  before(async () => {
    front = await startFront({
      upstreams: [`http://127.0.0.1:${await deadPort()}`, `http://127.0.0.1:${await deadPort()}`],
      retries: 1,
    });
  });
  after(() => front.close());

  test('answers 502 GW_UPSTREAM_UNAVAILABLE once each replica was tried', async () => {
    const res = await fetch(`${front.url}/orders`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_UPSTREAM_UNAVAILABLE');
  });
});

describe('a POST is never sent twice', () => {
  const resets = new Replica('resets', (req) => {
    // Takes the request, then the connection dies before any response byte.
    req.socket.destroy();
  });
  const other = new Replica('other');
  let front: Front;
  before(async () => {
    await Promise.all([resets.start(), other.start()]);
    front = await startFront({ upstreams: [resets.url, other.url], retries: 3 });
  });
  after(async () => {
    await front.close();
    await Promise.all([resets.kill(), other.kill()]);
  });

  test('a POST whose connection is reset after it was sent answers 502 and reaches no other replica', async () => {
    const res = await fetch(`${front.url}/orders`, { method: 'POST', body: '{"item":1}' });
    assert.equal(res.status, 502);
    assert.deepEqual(await res.json(), {
      error: 'GW_UPSTREAM_UNAVAILABLE',
      message: 'The upstream could not be reached',
    });
    assert.equal(resets.hits.length, 1);
    assert.equal(other.hits.length, 0);
  });

  test('a GET whose connection is reset before any response byte is retried on the other replica', async () => {
    // Round-robin now starts on `other`; send two so one starts on `resets`.
    const bodies: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${front.url}/items`);
      assert.equal(res.status, 200);
      bodies.push(await res.json());
    }
    assert.deepEqual(bodies, [{ replica: 'other' }, { replica: 'other' }]);
    assert.equal(resets.hits.length, 2);
  });

  test('a GET cut after the response started is not retried: the client sees the cut', async () => {
    const cut = new Replica('cut', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
      setImmediate(() => res.socket?.destroy());
    });
    await cut.start();
    const spare = new Replica('spare');
    await spare.start();
    const f = await startFront({ upstreams: [cut.url, spare.url], retries: 3 });
    try {
      const res = await fetch(`${f.url}/stream`);
      assert.equal(res.status, 200);
      await assert.rejects(res.text());
      assert.equal(cut.hits.length, 1);
      assert.equal(spare.hits.length, 0);
    } finally {
      await f.close();
      await Promise.all([cut.kill(), spare.kill()]);
    }
  });
});

describe('a client that hangs up is not the replica’s fault', () => {
  const sink = new Replica('sink');
  let front: Front;
  before(async () => {
    await sink.start();
    front = await startFront({
      upstreams: [sink.url],
      retries: 0,
      circuitBreaker: { failureThreshold: 1, openMs: 60_000 },
    });
  });
  after(async () => {
    await front.close();
    await sink.kill();
  });

  test('a client cutting its upload midway leaves the replica in rotation', async () => {
    for (let i = 0; i < 3; i++) {
      const socket = connect(Number(new URL(front.url).port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial');
      // Wait until the upload reached the replica, then vanish.
      await waitFor(
        () => sink.seen.length > i || front.pool.status()[0]!.outstanding > 0,
        15_000,
        'the upload to start',
      );
      socket.destroy();
      await waitFor(() => front.pool.status()[0]!.outstanding === 0, 15_000, 'the attempt to end');
    }
    assert.deepEqual(front.pool.status(), [{ url: sink.url, healthy: true, ejected: false, outstanding: 0 }]);
    const res = await fetch(`${front.url}/after`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { replica: 'sink' });
  });
});

describe('a retry when the health checks still mark the other replica down', () => {
  const a = new Replica('a');
  const b = new Replica('b');
  let front: Front;
  before(async () => {
    await Promise.all([a.start(), b.start()]);
    // Checks run on demand only here (a long interval), as when a replica came back between two.
    front = await startFront({
      upstreams: [a.url, b.url],
      retries: 1,
      healthCheck: {
        path: '/health',
        intervalMs: 600_000,
        timeoutMs: 1000,
        unhealthyThreshold: 1,
        healthyThreshold: 1,
      },
    });
  });
  after(async () => {
    await front.close();
    await Promise.all([a.kill(), b.kill()]);
  });

  test('a GET refused by the only replica marked up is answered by the one marked down that is back', async () => {
    await b.kill();
    await front.pool.checkHealth();
    assert.deepEqual(
      front.pool.status().map((s) => s.healthy),
      [true, false],
    );
    await b.start(); // back on its port; the next check has not run yet
    await a.kill();
    const res = await fetch(`${front.url}/items`);
    assert.equal(res.status, 200);
    assert.equal(b.hits.length > 0, true);
  });

  test('with every replica really down, the answer is 502 after one attempt on each', async () => {
    await b.kill();
    const res = await fetch(`${front.url}/items`);
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_UPSTREAM_UNAVAILABLE');
  });
});
