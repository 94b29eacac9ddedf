import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { mountHealth } from '../src/health.ts';
import { createServiceApp } from '../src/service-app.ts';

function app(mode: 'development' | 'production') {
  const a = createServiceApp(silentLogger());
  mountHealth(a, { service: 'shop-products', mode, logger: silentLogger() });
  return a;
}

describe('/health and the /fail switch', () => {
  test('in development, POST /fail flips /health between 200 and 503 SHOP_UNHEALTHY', async () => {
    const a = app('development');
    assert.deepEqual(await (await a.request('/health')).json(), { status: 'ok', service: 'shop-products' });
    assert.deepEqual(await (await a.request('/fail', { method: 'POST' })).json(), {
      service: 'shop-products',
      failing: true,
    });
    const down = await a.request('/health');
    assert.equal(down.status, 503);
    assert.equal(((await down.json()) as { error: string }).error, 'SHOP_UNHEALTHY');
    await a.request('/fail', { method: 'POST' });
    assert.equal((await a.request('/health')).status, 200);
  });

  test('in production /fail does not exist and /health stays up', async () => {
    const a = app('production');
    const res = await a.request('/fail', { method: 'POST' });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: string }).error, 'SHOP_NOT_FOUND');
    assert.equal((await a.request('/health')).status, 200);
  });

  test('GET /fail is not a way to flip the switch', async () => {
    const a = app('development');
    assert.equal((await a.request('/fail')).status, 404);
    assert.equal((await a.request('/health')).status, 200);
  });
});

describe('/health while the replica drains', () => {
  test('once shutdown has begun, /health answers 503 SHOP_DRAINING', async () => {
    let draining = false;
    const a = createServiceApp(silentLogger());
    mountHealth(a, {
      service: 'shop-orders',
      mode: 'production',
      logger: silentLogger(),
      draining: () => draining,
    });
    assert.equal((await a.request('/health')).status, 200);
    draining = true;
    const res = await a.request('/health');
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: string }).error, 'SHOP_DRAINING');
  });
});
