import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState } from '@gatehouse/core';
import { openTestState, redisTestUrl, skipUnlessService, type TestState } from '@gatehouse/core/testing';
import { createInflightLimiter, releaseWhenDone, sendTooManyInflight } from '../src/limits/inflight-limit.ts';
import { waitFor } from './upstream-fixtures.ts';

for (const kind of ['memory', 'redis'] as const) {
  describe(`in-flight limit [${kind}]`, { skip: await skipUnlessService(kind) }, () => {
    let t: TestState;
    before(async () => {
      t = await openTestState(kind);
    });
    after(() => t?.cleanup());

    test('max slots are handed out, the next is refused, and a release frees one', async () => {
      const limiter = createInflightLimiter(t.state, { max: 2, scope: 'slots' });
      assert.equal(await limiter.acquire('ip:1'), true);
      assert.equal(await limiter.acquire('ip:1'), true);
      assert.equal(await limiter.acquire('ip:1'), false);
      assert.equal(await limiter.acquire('ip:2'), true, 'another key has its own slots');
      await limiter.release('ip:1');
      assert.equal(await limiter.acquire('ip:1'), true);
      assert.equal(await limiter.acquire('ip:1'), false);
    });

    test('an invalid maximum is refused at start-up', () => {
      assert.throws(() => createInflightLimiter(t.state, { max: 0 }), {
        code: 'GW_CONFIG_INVALID',
        message: /max/,
      });
      assert.throws(() => createInflightLimiter(t.state, { max: 1.5 }), /max/);
    });
  });
}

describe('in-flight limit shared by two replicas on Redis', {
  skip: await skipUnlessService('redis'),
}, () => {
  let t: TestState;
  let second: SharedState;
  before(async () => {
    t = await openTestState('redis');
    second = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: t.keyPrefix! });
  });
  after(async () => {
    await second?.close();
    await t?.cleanup();
  });

  test('slots taken through one connection count on the other', async () => {
    const a = createInflightLimiter(t.state, { max: 40, scope: 'ecommerce' });
    const b = createInflightLimiter(second, { max: 40, scope: 'ecommerce' });
    const got = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).acquire('ip:9')));
    assert.equal(got.filter(Boolean).length, 40);
    await b.release('ip:9');
    assert.equal(await a.acquire('ip:9'), true);
  });
});

describe('in-flight limit in front of a slow handler', () => {
  let server: Server;
  let url: string;
  let state: SharedState;
  let limiter: ReturnType<typeof createInflightLimiter>;
  const waiting: (() => void)[] = [];
  before(async () => {
    state = await openState({ driver: 'memory' });
    limiter = createInflightLimiter(state, { max: 2, scope: 'http' });
    server = createServer(async (_req, res) => {
      const key = 'ip:127.0.0.1';
      if (!(await limiter.acquire(key))) {
        sendTooManyInflight(res);
        return;
      }
      releaseWhenDone(res, limiter, key);
      waiting.push(() => res.end('done'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const end of waiting) end();
    server.close();
    server.closeAllConnections();
    await state.close();
  });

  test('a third concurrent request gets 429 GW_TOO_MANY_INFLIGHT; once one finishes, a new one is accepted', async () => {
    const first = fetch(url);
    const second = fetch(url);
    while (waiting.length < 2) await new Promise((r) => setTimeout(r, 10));
    const third = await fetch(url);
    assert.equal(third.status, 429);
    assert.equal(third.headers.get('retry-after'), '1');
    assert.deepEqual(await third.json(), {
      error: 'GW_TOO_MANY_INFLIGHT',
      message: 'Too many requests in flight',
    });

    waiting.shift()!();
    assert.equal(await (await first).text(), 'done');
    // The slot is released when the server side of the exchange closes: wait for that, not a fixed time.
    await waitFor(async () => {
      if (!(await limiter.acquire('ip:127.0.0.1'))) return false;
      await limiter.release('ip:127.0.0.1');
      return true;
    });
    const fourth = fetch(url);
    while (waiting.length < 2) await new Promise((r) => setTimeout(r, 10));
    waiting.pop()!();
    const res = await fourth;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'done');
    waiting.shift()!();
    assert.equal(await (await second).text(), 'done');
  });
});
