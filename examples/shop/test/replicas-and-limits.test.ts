import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@gatehouse/core/testing';
import { login, type Stack, startStack } from '../../shared/test/shop-harness.ts';
import { createShopExample } from '../src/index.ts';

describe('the shop with two replicas of each service and the rate limits on', () => {
  let s: Stack;
  let bob: string;
  const headers = () => ({ cookie: `gatehouse_session=${bob}` });
  /** Which replica answered each of `n` requests to `path` through the gateway. */
  const servedBy = async (path: string, n: number) => {
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${s.publicUrl}${path}`, { headers: headers() });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      names.push(res.headers.get('x-shop-replica') ?? '-');
    }
    return names;
  };
  const urlOf = (name: string) => s.handle.services.find((x) => x.name === name)!.url;

  before(async () => {
    s = await startStack(createShopExample({ replicas: 2, limits: true }));
    bob = await login(s.publicUrl, 'bob', 'bob-password');
  });
  after(() => s?.close());

  test('each service runs two replicas and each route points at both', () => {
    assert.deepEqual(
      s.handle.services.map((x) => x.name),
      ['shop-orders-1', 'shop-orders-2', 'shop-products-1', 'shop-products-2'],
    );
    const products = [urlOf('shop-products-1'), urlOf('shop-products-2')];
    const orders = [urlOf('shop-orders-1'), urlOf('shop-orders-2')];
    const upstreams = Object.fromEntries(s.handle.routes.map((r) => [r.id, r.upstreams]));
    assert.deepEqual(upstreams, {
      'shop-products-admin': products,
      'shop-products': products,
      'shop-orders': orders,
      'shop-orders-internal': orders,
    });
  });

  test('the gateway spreads requests over both products replicas', async () => {
    const names = new Set(await servedBy('/products', 4));
    assert.deepEqual([...names].sort(), ['shop-products-1', 'shop-products-2']);
  });

  test('a replica whose /health fails is taken out of rotation and put back when it recovers', async () => {
    const flip = async () => {
      const res = await fetch(`${urlOf('shop-products-1')}/fail`, { method: 'POST' });
      assert.equal(res.status, 200);
    };
    await flip();
    await waitFor(async () => (await servedBy('/products', 2)).every((n) => n === 'shop-products-2'), {
      timeoutMs: 20_000,
      intervalMs: 500,
      what: 'replica 1 out of rotation',
    });
    assert.deepEqual(await servedBy('/products', 2), ['shop-products-2', 'shop-products-2']);
    await flip();
    await waitFor(async () => (await servedBy('/products', 2)).includes('shop-products-1'), {
      timeoutMs: 20_000,
      intervalMs: 500,
      what: 'replica 1 back in rotation',
    });
  });

  test('beyond the burst of 40 a client gets 429 GW_RATE_LIMITED with Retry-After', async () => {
    let res: Response | undefined;
    let allowed = 0;
    let body: { error?: string } = {};
    for (let i = 0; i < 60; i++) {
      res = await fetch(`${s.publicUrl}/orders`, { headers: headers() });
      body = (await res.json()) as { error?: string };
      if (res.status !== 200) break;
      allowed++;
    }
    assert.ok(res);
    assert.equal(res.status, 429);
    assert.equal(body.error, 'GW_RATE_LIMITED');
    // The bucket holds 40 and refills one every 3 s: a slow machine may earn one or two more.
    assert.ok(allowed >= 40 && allowed <= 43, `allowed ${allowed}`);
    assert.match(res.headers.get('retry-after') ?? '', /^[1-9][0-9]*$/);
  });
});
