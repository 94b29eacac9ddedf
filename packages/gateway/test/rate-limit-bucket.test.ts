import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState } from '@gatehouse/core';
import {
  createRateLimiter,
  parsePeriodMs,
  rateLimitHeaders,
  sendRateLimited,
} from '../src/limits/rate-limit.ts';

describe('rate limit period', () => {
  test('accepts ms, s, m, h and d units and plain milliseconds', () => {
    assert.equal(parsePeriodMs('500ms'), 500);
    assert.equal(parsePeriodMs('1s'), 1000);
    assert.equal(parsePeriodMs('1m'), 60_000);
    assert.equal(parsePeriodMs('2h'), 7_200_000);
    assert.equal(parsePeriodMs('1d'), 86_400_000);
    assert.equal(parsePeriodMs(250), 250);
  });

  test('refuses empty, negative, zero and unitless strings', () => {
    for (const bad of ['', '1', '-1s', '0s', '1 minute', '1y']) {
      assert.throws(() => parsePeriodMs(bad), { code: 'GW_CONFIG_INVALID', message: /period/ }, bad);
    }
    assert.throws(() => parsePeriodMs(0), /period/);
  });
});

describe('token bucket on the in-process state', () => {
  let state: SharedState;
  before(async () => {
    state = await openState({ driver: 'memory' });
  });
  after(() => state.close());

  test('burst requests pass, the next is refused with the time until one token is back', async () => {
    // 20 per minute: one token every 3 s.
    const limiter = createRateLimiter(state, { average: 20, period: '1m', burst: 3, scope: 'burst-test' });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.take('ip:10.0.0.1'));
    assert.deepEqual(
      results.map((r) => [r.allowed, r.remaining, r.limit]),
      [
        [true, 2, 3],
        [true, 1, 3],
        [true, 0, 3],
        [false, 0, 3],
      ],
    );
    assert.equal(results[3]!.retryAfterSec, 3);
    assert.equal(results[0]!.retryAfterSec, 0);
  });

  test('milliseconds from the state round up to whole seconds, and a refusal says at least 1 s', async () => {
    const answers = [
      { allowed: false, remaining: 0, retryAfterMs: 2001, resetMs: 8999 },
      { allowed: false, remaining: 0, retryAfterMs: 0, resetMs: 0 },
      { allowed: true, remaining: 5, retryAfterMs: 0, resetMs: 1000 },
    ];
    const stub = { takeToken: async () => answers.shift()! } as unknown as SharedState;
    const limiter = createRateLimiter(stub, { average: 1, period: '1s', burst: 10 });
    const got = [await limiter.take('k'), await limiter.take('k'), await limiter.take('k')];
    assert.deepEqual(
      got.map((r) => [r.allowed, r.remaining, r.retryAfterSec, r.resetSec]),
      [
        [false, 0, 3, 9],
        [false, 0, 1, 0],
        [true, 5, 0, 1],
      ],
    );
  });

  test('keys and scopes have separate buckets', async () => {
    const a = createRateLimiter(state, { average: 1, period: '1h', burst: 1, scope: 'a' });
    const b = createRateLimiter(state, { average: 1, period: '1h', burst: 1, scope: 'b' });
    assert.equal((await a.take('ip:1')).allowed, true);
    assert.equal((await a.take('ip:1')).allowed, false);
    assert.equal((await a.take('ip:2')).allowed, true);
    assert.equal((await b.take('ip:1')).allowed, true);
  });

  test('headers follow draft-ietf-httpapi-ratelimit-headers: policy is burst over refill window', async () => {
    const limiter = createRateLimiter(state, { average: 20, period: '1m', burst: 40, scope: 'headers' });
    assert.equal(limiter.policy, 'default;q=40;w=120');
    const r = await limiter.take('ip:1');
    assert.deepEqual(rateLimitHeaders(limiter, r), {
      'ratelimit-policy': 'default;q=40;w=120',
      ratelimit: 'default;r=39;t=3',
    });
  });

  test('invalid configurations are refused at start-up', () => {
    assert.throws(() => createRateLimiter(state, { average: 0, period: '1m', burst: 1 }), {
      code: 'GW_CONFIG_INVALID',
      message: /average/,
    });
    assert.throws(() => createRateLimiter(state, { average: 1, period: '1m', burst: 0 }), {
      code: 'GW_CONFIG_INVALID',
      message: /burst/,
    });
    assert.throws(() => createRateLimiter(state, { average: 1, period: '1m', burst: 1.5 }), {
      code: 'GW_CONFIG_INVALID',
      message: /burst/,
    });
    assert.throws(() => createRateLimiter(state, { average: 1, period: 'soon', burst: 1 }), {
      code: 'GW_CONFIG_INVALID',
      message: /period/,
    });
  });
});

describe('429 answer', () => {
  let server: Server;
  let url: string;
  let state: SharedState;
  before(async () => {
    state = await openState({ driver: 'memory' });
    const limiter = createRateLimiter(state, { average: 20, period: '1m', burst: 1, scope: 'answer' });
    server = createServer(async (_req, res) => {
      const r = await limiter.take('ip:127.0.0.1');
      if (!r.allowed) {
        sendRateLimited(res, limiter, r);
        return;
      }
      res.writeHead(200, rateLimitHeaders(limiter, r)).end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.close();
    server.closeAllConnections();
    await state.close();
  });

  test('over the limit answers 429 GW_RATE_LIMITED with Retry-After and RateLimit headers', async () => {
    const ok = await fetch(url);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('ratelimit'), 'default;r=0;t=3');
    await ok.arrayBuffer();

    const res = await fetch(url);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '3');
    assert.equal(res.headers.get('ratelimit-policy'), 'default;q=1;w=3');
    assert.equal(res.headers.get('ratelimit'), 'default;r=0;t=3');
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await res.json(), { error: 'GW_RATE_LIMITED', message: 'Too many requests' });
  });
});
