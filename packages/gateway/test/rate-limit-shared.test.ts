/**
 * The e-commerce reference system's limit: burst 40 per source, two gateway replicas. Its own
 * observation was that two replicas with separate buckets let 80 requests of a burst through; with
 * the buckets in Redis exactly 40 pass. Each "replica" here is a server with its own limiter on its
 * own state connection; 110 concurrent requests from one source are spread over both.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState } from '@gatehouse/core';
import { openTestState, redisTestUrl, skipUnlessService, type TestState } from '@gatehouse/core/testing';
import { Agent } from 'undici';
import { createRateLimiter, rateLimitHeaders, sendRateLimited } from '../src/limits/rate-limit.ts';

// A one-hour period keeps refills out of the test (one token per 90 s): only the burst is measured,
// however slow the machine is.
const LIMIT = { average: 40, period: '1h', burst: 40, scope: 'ecommerce' } as const;

async function startReplica(state: SharedState): Promise<{ url: string; server: Server }> {
  const limiter = createRateLimiter(state, LIMIT);
  const server = createServer(async (req, res) => {
    const r = await limiter.take(`ip:${req.socket.remoteAddress}`);
    if (!r.allowed) {
      sendRateLimited(res, limiter, r);
      return;
    }
    res.writeHead(200, rateLimitHeaders(limiter, r)).end('ok');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** 110 requests, all in flight together, alternating between the two replicas. */
async function burst(urls: string[]): Promise<{ status: number; retryAfter: string | null }[]> {
  const agent = new Agent({ connections: 110 });
  try {
    return await Promise.all(
      Array.from({ length: 110 }, async (_, i) => {
        const res = await fetch(urls[i % urls.length]!, { dispatcher: agent } as RequestInit);
        await res.arrayBuffer();
        return { status: res.status, retryAfter: res.headers.get('retry-after') };
      }),
    );
  } finally {
    await agent.close();
  }
}

function tally(results: { status: number; retryAfter: string | null }[]) {
  const ok = results.filter((r) => r.status === 200).length;
  const limited = results.filter((r) => r.status === 429);
  return {
    ok,
    limited: limited.length,
    other: results.length - ok - limited.length,
    limitedWithoutRetryAfter: limited.filter((r) => !(Number(r.retryAfter) >= 1)).length,
  };
}

describe('two replicas sharing Redis', { skip: await skipUnlessService('redis') }, () => {
  let shared: TestState;
  let second: SharedState;
  const servers: Server[] = [];
  const urls: string[] = [];
  before(async () => {
    shared = await openTestState('redis');
    // A second connection under the same key prefix: what a second gateway replica opens.
    second = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: shared.keyPrefix! });
    for (const state of [shared.state, second]) {
      const r = await startReplica(state);
      servers.push(r.server);
      urls.push(r.url);
    }
  });
  after(async () => {
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
    await second?.close();
    await shared?.cleanup();
  });

  test('burst 40, 110 concurrent requests from one source: exactly 40 pass and 70 get 429 with Retry-After', async () => {
    assert.deepEqual(tally(await burst(urls)), {
      ok: 40,
      limited: 70,
      other: 0,
      limitedWithoutRetryAfter: 0,
    });
  });
});

describe('two replicas with in-process buckets', () => {
  const states: SharedState[] = [];
  const servers: Server[] = [];
  const urls: string[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++) {
      const state = await openState({ driver: 'memory' });
      states.push(state);
      const r = await startReplica(state);
      servers.push(r.server);
      urls.push(r.url);
    }
  });
  after(async () => {
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
    for (const s of states) await s.close();
  });

  test('the same burst lets 80 through: each replica counts alone (why the limit must be shared)', async () => {
    assert.deepEqual(tally(await burst(urls)), {
      ok: 80,
      limited: 30,
      other: 0,
      limitedWithoutRetryAfter: 0,
    });
  });
});
