import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { validateGatewayConfig } from '@gatehouse/gateway';
import { loadRoutesFile } from '../../shared/src/routes-file.ts';

const shopRoutes = new URL('../routes.yaml', import.meta.url);
const services = {
  products: ['http://127.0.0.1:1001', 'http://127.0.0.1:1002'],
  orders: ['http://127.0.0.1:2001'],
};

describe('routes.yaml', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shop-routes-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('resolves service:<name> to every replica and is a valid gateway route table', async () => {
    const routes = await loadRoutesFile(shopRoutes, { services, limits: true });
    // The back-office route is a permission policy: it needs the engine (`gateway.authz`).
    const valid = validateGatewayConfig({ authz: {}, routes });
    const byId = Object.fromEntries(valid.routes.map((r) => [r.id, r]));
    assert.deepEqual(byId['shop-products']?.upstreams, services.products);
    assert.deepEqual(byId['shop-orders-internal']?.policy, 'internal');
    assert.deepEqual(byId['shop-products-admin']?.policy, {
      permission: {
        store: 'shop',
        relation: 'can_view_back_office',
        object: 'shop:main',
        subject: { user: 'user:{username}' },
      },
    });
    assert.deepEqual(byId['shop-orders']?.rateLimit, { average: 20, period: '1m', burst: 40, key: 'ip' });
    assert.deepEqual(byId['shop-orders']?.inflight, { max: 40, key: 'ip' });
  });

  test('with limits off no route has a rate or in-flight limit', async () => {
    const routes = await loadRoutesFile(shopRoutes, { services, limits: false });
    for (const r of validateGatewayConfig({ authz: {}, routes }).routes) {
      assert.equal(r.rateLimit, undefined, r.id);
      assert.equal(r.inflight, undefined, r.id);
    }
  });

  test('an upstream naming an unknown service is an error', async () => {
    const file = join(dir, 'unknown.yaml');
    await writeFile(file, '- id: x\n  match: { path: /x }\n  upstreams: [service:nope]\n');
    await assert.rejects(
      loadRoutesFile(pathToFileURL(file), { services, limits: true }),
      /unknown service:nope/,
    );
  });

  test('a file that is not a list of routes is an error', async () => {
    const file = join(dir, 'map.yaml');
    await writeFile(file, 'routes: []\n');
    await assert.rejects(
      loadRoutesFile(pathToFileURL(file), { services, limits: true }),
      /expected a list of routes/,
    );
  });
});
