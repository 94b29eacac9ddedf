/**
 * The e-commerce scenario end to end: two gateway replicas (`createGateway`)
 * in front of one service, a public route limited to burst 40 per source, 110 concurrent requests
 * from one source spread over both replicas. With the state in Redis exactly 40 pass; with each
 * replica's own in-process state, 80 would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState, silentLogger } from '@gatehouse/core';
import { openTestState, redisTestUrl, skipUnlessService, type TestState } from '@gatehouse/core/testing';
import { Agent } from 'undici';
import { createGateway, type Gateway } from '../src/gateway.ts';
import { Replica } from './upstream-fixtures.ts';

const route = (upstream: string) => ({
  routes: [
    {
      id: 'products',
      match: { path: '/products' },
      upstreams: [upstream],
      policy: 'public',
      // A one-hour period keeps refills out of the test: only the burst is measured.
      rateLimit: { average: 40, period: '1h', burst: 40, key: 'ip' },
    },
  ],
});

async function twoGateways(
  states: SharedState[],
  upstream: string,
): Promise<{ gateways: Gateway[]; urls: string[] }> {
  const gateways: Gateway[] = [];
  const urls: string[] = [];
  for (const state of states) {
    const gw = await createGateway({ config: route(upstream), state, logger: silentLogger() });
    const addr = await gw.listen(0, '127.0.0.1');
    gateways.push(gw);
    urls.push(`http://127.0.0.1:${addr.port}/products`);
  }
  return { gateways, urls };
}

interface Answer {
  status: number;
  retryAfter: string | null;
  error: string | undefined;
}

async function burst(urls: string[]): Promise<Answer[]> {
  const agent = new Agent({ connections: 110 });
  try {
    return await Promise.all(
      Array.from({ length: 110 }, async (_, i) => {
        const res = await fetch(urls[i % urls.length]!, { dispatcher: agent } as RequestInit);
        const body = (await res.json()) as { error?: string };
        return { status: res.status, retryAfter: res.headers.get('retry-after'), error: body.error };
      }),
    );
  } finally {
    await agent.close();
  }
}

function tally(answers: Answer[]) {
  const limited = answers.filter((a) => a.status === 429);
  return {
    ok: answers.filter((a) => a.status === 200).length,
    limited: limited.length,
    limitedCodes: [...new Set(limited.map((a) => a.error))],
    limitedWithoutRetryAfter: limited.filter((a) => !(Number(a.retryAfter) >= 1)).length,
  };
}

describe('two gateway replicas sharing Redis', { skip: await skipUnlessService('redis') }, () => {
  const service = new Replica('products');
  let shared: TestState;
  let second: SharedState;
  let gateways: Gateway[] = [];
  let urls: string[] = [];
  before(async () => {
    await service.start();
    shared = await openTestState('redis');
    second = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: shared.keyPrefix! });
    ({ gateways, urls } = await twoGateways([shared.state, second], service.url));
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await second?.close();
    await shared?.cleanup();
    await service.kill();
  });

  test('burst 40, 110 concurrent requests from one source: exactly 40 reach the service, 70 get 429 GW_RATE_LIMITED', async () => {
    assert.deepEqual(tally(await burst(urls)), {
      ok: 40,
      limited: 70,
      limitedCodes: ['GW_RATE_LIMITED'],
      limitedWithoutRetryAfter: 0,
    });
    assert.equal(service.hits.length, 40);
  });
});

describe('two gateway replicas with in-process state', () => {
  const service = new Replica('products');
  const states: SharedState[] = [];
  let gateways: Gateway[] = [];
  let urls: string[] = [];
  before(async () => {
    await service.start();
    for (let i = 0; i < 2; i++) states.push(await openState({ driver: 'memory' }));
    ({ gateways, urls } = await twoGateways(states, service.url));
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    for (const s of states) await s.close();
    await service.kill();
  });

  test('the same burst lets 80 through, 40 per replica: why the limit must be shared', async () => {
    assert.deepEqual(tally(await burst(urls)), {
      ok: 80,
      limited: 30,
      limitedCodes: ['GW_RATE_LIMITED'],
      limitedWithoutRetryAfter: 0,
    });
    assert.equal(service.hits.length, 80);
  });
});
