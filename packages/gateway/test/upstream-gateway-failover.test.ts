/**
 * Through `createGateway`: kill one of two replicas under a bounded load of
 * idempotent GETs; every request still succeeds, the dead replica is taken out, and it comes back
 * when it returns.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState, silentLogger } from '@gatehouse/core';
import { Agent } from 'undici';
import { createGateway, type Gateway } from '../src/gateway.ts';
import { Replica, waitFor } from './upstream-fixtures.ts';

describe('gateway route with two replicas, one of which dies', () => {
  const a = new Replica('a');
  const b = new Replica('b');
  let state: SharedState;
  let gateway: Gateway;
  let url: string;
  const agent = new Agent({ connections: 10 });
  before(async () => {
    await Promise.all([a.start(), b.start()]);
    state = await openState({ driver: 'memory' });
    gateway = await createGateway({
      state,
      logger: silentLogger(),
      config: {
        routes: [
          {
            id: 'items',
            match: { path: '/items' },
            upstreams: [a.url, b.url],
            policy: 'public',
            retries: 1,
            healthCheck: { path: '/health', intervalMs: 100, unhealthyThreshold: 2, healthyThreshold: 2 },
          },
        ],
      },
    });
    url = `http://127.0.0.1:${(await gateway.listen(0, '127.0.0.1')).port}/items`;
  });
  after(async () => {
    await agent.close();
    await gateway.close();
    await state.close();
    await Promise.all([a.kill(), b.kill()]);
  });

  /** `gatehouse_gateway_upstream_available` for one replica of the route (1 = takes traffic). */
  const available = async (upstream: string): Promise<number | undefined> => {
    const metric = gateway.metrics.getSingleMetric('gatehouse_gateway_upstream_available');
    const values = (await metric?.get())?.values ?? [];
    return values.find((v) => v.labels['route'] === 'items' && v.labels['upstream'] === upstream)?.value;
  };

  const get = async (): Promise<{ status: number; replica: string | undefined }> => {
    const res = await fetch(url, { dispatcher: agent } as RequestInit);
    const body = (await res.json()) as { replica?: string };
    return { status: res.status, replica: body.replica };
  };

  test('300 GETs, 10 at a time, replica b killed after 50: all succeed, b stops getting traffic, then returns', async () => {
    const statuses: number[] = [];
    let killed: Promise<void> | undefined;
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < 300) {
          next++;
          statuses.push((await get()).status);
          if (statuses.length === 50) killed = b.kill();
        }
      }),
    );
    await killed;
    assert.equal(statuses.length, 300);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );

    // Taken out (health checks or passive ejection): the gateway's upstream gauge says so.
    await waitFor(async () => (await available(b.url)) === 0, 15_000, 'replica b to be taken out');
    const replicas = [];
    for (let i = 0; i < 10; i++) replicas.push(await get());
    assert.deepEqual(replicas, Array(10).fill({ status: 200, replica: 'a' }));

    await b.start(); // same port
    await waitFor(async () => (await available(b.url)) === 1, 15_000, 'replica b to be re-admitted');
    const after = [(await get()).replica, (await get()).replica];
    assert.deepEqual(after.toSorted(), ['a', 'b']);
  });
});
