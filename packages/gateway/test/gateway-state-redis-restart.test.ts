// A gateway on a real Redis (a private redis-server of the test's own) through a Redis restart:
// while Redis is down, a request that does not need it (a new token, checked against the fresh
// revocation feed) answers at its usual speed, and one that does (a rate-limited route) fails fast
// with 503 GH_STATE_UNAVAILABLE, however long the outage has lasted; once Redis is back the
// rate-limited route answers again within about a second.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openState, REVOCATIONS_FEED_PATH, type SharedState } from '@gatehouse/core';
import { type PrivateRedis, privateRedisSkip, startPrivateRedis, waitFor } from '@gatehouse/core/testing';
import {
  type Answer,
  AUDIENCE,
  type Harness,
  ISSUER,
  type Keys,
  makeKeys,
  mintToken,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

/**
 * An answer during the outage comes within this: a request held by the state waits many seconds,
 * and the margin keeps a loaded test machine from failing a fast one.
 */
const FAST_MS = 750;
/** Once Redis is back, the rate-limited route answers within this. */
const RESUME_MS = 1500;

const skip = privateRedisSkip();
let redis: PrivateRedis;
let state: SharedState;
let feedServer: Server;
let upstream: Upstream;
let keys: Keys;
let gw: Harness;

/** The answer and how long it took, or no answer when there was none within `limitMs`. */
async function timed(
  limitMs: number,
  call: () => Promise<Answer>,
): Promise<{ ms: number; answer: Answer | undefined }> {
  const t = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), limitMs);
  });
  try {
    const answer = await Promise.race([call(), late]);
    return { ms: Math.round(performance.now() - t), answer };
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

before(async () => {
  if (skip) return;
  redis = await startPrivateRedis();
  state = await openState({ driver: 'redis', url: redis.url, keyPrefix: 'gw-restart:' });
  feedServer = createServer((req, res) => {
    if (!req.url?.startsWith(REVOCATIONS_FEED_PATH)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ revocations: [], cursor: '0' }));
  });
  await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
  const feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}${REVOCATIONS_FEED_PATH}`;
  upstream = await startEcho();
  keys = await makeKeys();
  gw = await startGateway(
    {
      auth: {
        issuer: ISSUER,
        audiences: [AUDIENCE],
        revocationFeed: { url: feedUrl, pollIntervalMs: 100 },
      },
      routes: [
        { id: 'echo', match: { path: '/echo' }, upstreams: [upstream.url], policy: 'authenticated' },
        {
          id: 'limited',
          match: { path: '/limited' },
          upstreams: [upstream.url],
          policy: 'public',
          rateLimit: { average: 1000, period: '1s', burst: 1000 },
        },
      ],
    },
    { keys, state },
  );
  await waitFor(async () => (await send(gw.url, '/_gatehouse/health/ready')).status === 200, {
    what: 'the gateway ready',
    timeoutMs: 5000,
  });
});

after(async () => {
  await gw?.close();
  await state?.close();
  await upstream?.close();
  if (feedServer) await new Promise<void>((resolve) => feedServer.close(() => resolve()));
  await redis?.stop();
});

const withNewToken = async () =>
  send(gw.url, '/echo', { headers: [['Authorization', `Bearer ${await mintToken(keys)}`]] });

describe('a gateway on Redis while Redis restarts', { skip }, () => {
  test('down: a new token answers at once through the feed, a rate limit 503 at once, throughout the outage', async () => {
    assert.equal((await withNewToken()).status, 200);
    await redis.stop();
    const wrong: string[] = [];
    for (const at of [0, 1000, 2000, 3000]) {
      if (at > 0) await sleep(1000);
      // Waited for longer than the bound, so a failure says how long it took.
      const token = await timed(5 * FAST_MS, withNewToken);
      if (token.answer?.status !== 200 || token.ms > FAST_MS)
        wrong.push(`new token at ${at} ms: ${token.answer?.status ?? 'no answer'} in ${token.ms} ms`);
      const limited = await timed(5 * FAST_MS, () => send(gw.url, '/limited'));
      if (
        limited.answer?.status !== 503 ||
        limited.answer.json().error !== 'GH_STATE_UNAVAILABLE' ||
        limited.ms > FAST_MS
      )
        wrong.push(`rate-limited at ${at} ms: ${limited.answer?.status ?? 'no answer'} in ${limited.ms} ms`);
    }
    assert.deepEqual(wrong, []);
  });

  test('back: the rate-limited route answers again within about a second', async () => {
    await redis.start();
    const back = performance.now();
    await waitFor(async () => (await timed(100, () => send(gw.url, '/limited'))).answer?.status === 200, {
      what: 'the rate-limited route answering',
      timeoutMs: RESUME_MS,
    });
    assert.ok(performance.now() - back < RESUME_MS);
    assert.equal((await withNewToken()).status, 200);
  });
});
