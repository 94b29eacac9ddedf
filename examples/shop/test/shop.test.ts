import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { authzMigrations, createAuthz, readStoreTestFile, runStoreTestFile } from '@gatehouse/authz';
import { migrate } from '@gatehouse/core';
import { openTestSql } from '@gatehouse/core/testing';
import { decodeJwt } from 'jose';
import { login, type Stack, serviceToken, startStack } from '../../shared/test/shop-harness.ts';
import {
  createShopExample,
  ORDERS_ADD_SCOPE,
  ORDERS_AUDIENCE,
  PRODUCTS_CLIENT_ID,
  SHOP_STORE,
} from '../src/index.ts';
import { DEV_PRODUCTS_CLIENT_SECRET } from '../src/service-identities.ts';

const JSON_TYPE = 'application/json';

describe('the shop end to end: identity provider, gateway, products and orders services', () => {
  let s: Stack;
  let alice: string;
  let bob: string;
  /** Whether the identity provider puts `orders:add` into a token for the orders audience. */
  let productsUrl: string;
  let ordersUrl: string;

  const cookie = (session: string) => ({ cookie: `gatehouse_session=${session}` });
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${s.publicUrl}${path}`, { headers });
  const post = (url: string, headers: Record<string, string> = {}, body?: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const productsToken = (scope?: string) =>
    serviceToken(s.ctx.tokenEndpoint, PRODUCTS_CLIENT_ID, DEV_PRODUCTS_CLIENT_SECRET, {
      resource: ORDERS_AUDIENCE,
      ...(scope ? { scope } : {}),
    });
  const newOrder = JSON.stringify({
    userId: 'bob-id',
    productId: 2,
    productName: 'Wireless mouse',
    quantity: 1,
    unitPriceCents: 3900,
  });

  before(async () => {
    s = await startStack(createShopExample({ limits: false, replicas: 1 }));
    alice = await login(s.publicUrl, 'alice', 'alice-password');
    bob = await login(s.publicUrl, 'bob', 'bob-password');
    productsUrl = s.handle.services.find((x) => x.name === 'shop-products')!.url;
    ordersUrl = s.handle.services.find((x) => x.name === 'shop-orders')!.url;
  });
  after(() => s?.close());

  test('the example lists its services with their health path and public routes', () => {
    assert.deepEqual(
      s.handle.services.map((x) => [x.name, x.healthPath, x.routes]),
      [
        ['shop-orders', '/health', ['/orders']],
        ['shop-products', '/health', ['/products', '/products/admin', '/products/{id}/buy']],
      ],
    );
    assert.deepEqual(
      s.handle.routes.map((r) => [r.id, r.upstreams]),
      [
        ['shop-products-admin', [productsUrl]],
        ['shop-products', [productsUrl]],
        ['shop-orders', [ordersUrl]],
        ['shop-orders-internal', [ordersUrl]],
      ],
    );
  });

  test('whoami through the gateway names alice with her roles', async () => {
    const res = await get('/authentication/whoami', cookie(alice));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { username: string; roles: string[] };
    assert.equal(body.username, 'alice');
    assert.deepEqual(body.roles, ['admin', 'user']);
  });

  test('whoami names bob as a user', async () => {
    const res = await get('/authentication/whoami', cookie(bob));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { username: string; roles: string[] };
    assert.equal(body.username, 'bob');
    assert.deepEqual(body.roles, ['user']);
  });

  test('login with a wrong password is refused and sets no cookie', async () => {
    const res = await post(
      `${s.publicUrl}/authentication/login`,
      {},
      JSON.stringify({ username: 'bob', password: 'nope-nope-nope' }),
    );
    assert.equal(res.status, 401);
    assert.deepEqual(res.headers.getSetCookie(), []);
  });

  test('GET /products lists the seeded catalog for a signed-in user, without admin fields', async () => {
    const res = await get('/products', cookie(bob));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), JSON_TYPE);
    const { products } = (await res.json()) as { products: Record<string, unknown>[] };
    assert.equal(products.length, 5);
    assert.deepEqual(products[0], {
      id: 1,
      name: 'Mechanical keyboard',
      description: 'Tenkeyless, brown switches',
      priceCents: 8900,
    });
  });

  test('GET /products without a session is 401 at the gateway with a Bearer challenge', async () => {
    const res = await get('/products');
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="gatehouse"');
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_TOKEN_MISSING');
  });

  test('GET /products/admin serves alice the admin view', async () => {
    const res = await get('/products/admin', cookie(alice));
    assert.equal(res.status, 200);
    const { products } = (await res.json()) as { products: Record<string, unknown>[] };
    assert.deepEqual(products[0], {
      id: 1,
      name: 'Mechanical keyboard',
      description: 'Tenkeyless, brown switches',
      priceCents: 8900,
      supplier: 'Keyworks Ltd',
      costCents: 5200,
    });
  });

  test('GET /products/admin is 403 for bob at the gateway: he holds no back-office permission', async () => {
    const res = await get('/products/admin', cookie(bob));
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_PERMISSION_DENIED');
  });

  test('staff granted in the store see the back office within a second, and lose it as fast', async () => {
    const authz = createAuthz({ sql: s.sql });
    const [store] = (await authz.listStores({ name: SHOP_STORE.name })).stores;
    const bobStaff = { user: 'user:bob', relation: 'staff', object: 'shop:main' };
    /** Until both the gateway and the products service answer `status`; the time that took. */
    const until = async (status: number) => {
      const since = performance.now();
      for (;;) {
        const asked = performance.now();
        const viaGateway = await get('/products/admin', cookie(bob));
        const direct = await fetch(`${productsUrl}/products/admin`, { headers: cookie(bob) });
        await Promise.all([viaGateway.body?.cancel(), direct.body?.cancel()]);
        if (viaGateway.status === status && direct.status === status) return asked - since;
        assert.ok(performance.now() - since < 3000, `no ${status} within 3 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await authz.write(store!.id, { writes: { tupleKeys: [bobStaff] } });
    const granted = await until(200);
    await authz.write(store!.id, { deletes: { tupleKeys: [bobStaff] } });
    const revoked = await until(403);
    assert.ok(granted < 1000 && revoked < 1000, `granted after ${granted} ms, revoked after ${revoked} ms`);
  });

  test("the back-office rule's store tests pass", async () => {
    const db = await openTestSql('pglite');
    try {
      await migrate(db.sql, [authzMigrations]);
      const file = fileURLToPath(new URL('../model/shop.fga.yaml', import.meta.url));
      const results = await runStoreTestFile(createAuthz({ sql: db.sql }), await readStoreTestFile(file));
      assert.ok(results.length >= 6);
      assert.deepEqual(
        results.filter((r) => !r.passed),
        [],
      );
    } finally {
      await db.cleanup();
    }
  });

  test('GET /products/admin is 401 for an anonymous caller', async () => {
    const res = await get('/products/admin');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_TOKEN_MISSING');
  });

  test('the products service refuses bob on /products/admin by itself too (its sdk guard)', async () => {
    const res = await fetch(`${productsUrl}/products/admin`, { headers: cookie(bob) });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_PERMISSION_DENIED');
  });

  test('the products service does not believe identity headers without a credential', async () => {
    const res = await fetch(`${productsUrl}/products/admin`, {
      headers: { 'x-user-id': 'alice', 'x-user-roles': 'admin', 'x-user-name': 'alice' },
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_TOKEN_MISSING');
  });

  test('a forged session cookie is refused by the gateway', async () => {
    const [h, p] = bob.split('.');
    const forged = `${h}.${p}.${'A'.repeat(86)}`;
    const res = await get('/products', cookie(forged));
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_SIGNATURE_INVALID');
  });

  test('the products service gets a token for the orders audience with the orders:add scope', async () => {
    const claims = decodeJwt(await productsToken(ORDERS_ADD_SCOPE));
    assert.equal(claims.aud, ORDERS_AUDIENCE);
    assert.equal(claims['scope'], ORDERS_ADD_SCOPE);
  });

  test("bob buys a product: the order shows in his orders and not in alice's", async () => {
    const bought = await post(`${s.publicUrl}/products/3/buy`, cookie(bob), JSON.stringify({ quantity: 2 }));
    assert.equal(bought.status, 201);
    const { order } = (await bought.json()) as { order: Record<string, unknown> };
    assert.equal(order['productId'], 3);
    assert.equal(order['productName'], 'USB-C hub');
    assert.equal(order['quantity'], 2);
    assert.equal(order['unitPriceCents'], 4900);

    const mine = (await (await get('/orders', cookie(bob))).json()) as { orders: { id: number }[] };
    assert.ok(mine.orders.some((o) => o.id === order['id']));
    const hers = (await (await get('/orders', cookie(alice))).json()) as { orders: { id: number }[] };
    assert.ok(!hers.orders.some((o) => o.id === order['id']));
  });

  test('buying a product that does not exist is 404 SHOP_PRODUCT_NOT_FOUND', async () => {
    for (const id of ['999', 'abc', '0']) {
      const res = await post(`${s.publicUrl}/products/${id}/buy`, cookie(bob));
      assert.equal(res.status, 404, id);
      assert.equal(((await res.json()) as { error: string }).error, 'SHOP_PRODUCT_NOT_FOUND');
    }
  });

  test('buying with a bad body is 400 SHOP_BAD_REQUEST and adds no order', async () => {
    const before = ((await (await get('/orders', cookie(bob))).json()) as { orders: unknown[] }).orders
      .length;
    for (const body of ['{"quantity":0}', '{"quantity":1.5}', '{"price":1}', '[1]', 'not json']) {
      const res = await post(`${s.publicUrl}/products/1/buy`, cookie(bob), body);
      assert.equal(res.status, 400, body);
      assert.equal(((await res.json()) as { error: string }).error, 'SHOP_BAD_REQUEST');
    }
    const afterCount = ((await (await get('/orders', cookie(bob))).json()) as { orders: unknown[] }).orders
      .length;
    assert.equal(afterCount, before);
  });

  test('a cross-site purchase with the session cookie is 403 SHOP_CROSS_SITE_REQUEST', async () => {
    const crossSite: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of crossSite) {
      const res = await post(`${s.publicUrl}/products/1/buy`, { ...cookie(bob), ...headers });
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { error: string }).error, 'SHOP_CROSS_SITE_REQUEST');
    }
  });

  test("a purchase from the shop's own origin passes the cross-site check", async () => {
    const res = await post(`${s.publicUrl}/products/999/buy`, { ...cookie(bob), origin: s.publicUrl });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: string }).error, 'SHOP_PRODUCT_NOT_FOUND');
  });

  test('GET /orders without a session is 401', async () => {
    const res = await get('/orders');
    assert.equal(res.status, 401);
  });

  test('the internal add endpoint is 404 through the gateway, even for alice', async () => {
    for (const headers of [{}, cookie(alice)]) {
      const res = await post(`${s.publicUrl}/microservice/orders/add`, headers, newOrder);
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { error: string }).error, 'GW_NOT_FOUND');
    }
  });

  test('directly, the internal add endpoint refuses a caller without a token with 401', async () => {
    const res = await post(`${ordersUrl}/microservice/orders/add`, {}, newOrder);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_TOKEN_MISSING');
  });

  test("directly, bob's session at the internal add endpoint is 403 SHOP_SERVICE_TOKEN_REQUIRED", async () => {
    const res = await post(`${ordersUrl}/microservice/orders/add`, cookie(bob), newOrder);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'SHOP_SERVICE_TOKEN_REQUIRED');
  });

  test("directly, another service's token (demo-service) is 403 SHOP_CALLER_NOT_ALLOWED", async () => {
    for (const resource of [ORDERS_AUDIENCE, undefined]) {
      const token = await serviceToken(s.ctx.tokenEndpoint, 'demo-service', 'demo-service-secret', {
        ...(resource ? { resource } : {}),
        scope: ORDERS_ADD_SCOPE,
      });
      const res = await post(
        `${ordersUrl}/microservice/orders/add`,
        { authorization: `Bearer ${token}` },
        newOrder,
      );
      assert.equal(res.status, 403, String(resource));
      assert.equal(((await res.json()) as { error: string }).error, 'SHOP_CALLER_NOT_ALLOWED');
    }
  });

  test('directly, the products token without the orders:add scope is 403 SDK_INSUFFICIENT_SCOPE', async () => {
    const res = await post(
      `${ordersUrl}/microservice/orders/add`,
      { authorization: `Bearer ${await productsToken()}` },
      newOrder,
    );
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_INSUFFICIENT_SCOPE');
  });

  test('directly, the products token with orders:add adds the order: 201', async () => {
    const token = await productsToken(ORDERS_ADD_SCOPE);
    const res = await post(
      `${ordersUrl}/microservice/orders/add`,
      { authorization: `Bearer ${token}`, 'idempotency-key': 'shop-test-direct-add' },
      newOrder,
    );
    assert.equal(res.status, 201);
    const { order } = (await res.json()) as { order: Record<string, unknown> };
    assert.equal(order['productName'], 'Wireless mouse');
  });

  test('a service token cannot list orders: GET /orders is for people (403 SHOP_USER_REQUIRED)', async () => {
    const res = await fetch(`${ordersUrl}/orders`, {
      headers: { authorization: `Bearer ${await productsToken()}` },
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'SHOP_USER_REQUIRED');
  });

  test('after logout the session cookie no longer works', async () => {
    const session = await login(s.publicUrl, 'alice', 'alice-password');
    assert.equal((await get('/products', cookie(session))).status, 200);
    const out = await post(`${s.publicUrl}/authentication/logout`, cookie(session));
    assert.equal(out.status, 204);
    const res = await get('/products', cookie(session));
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'SDK_TOKEN_REVOKED');
    assert.equal((await get('/authentication/whoami', cookie(session))).status, 401);
    // The other session of alice is untouched.
    assert.equal((await get('/products', cookie(alice))).status, 200);
  });

  test('POST /fail makes /health answer 503 until it is posted again', async () => {
    for (const url of [productsUrl, ordersUrl]) {
      assert.equal((await fetch(`${url}/health`)).status, 200);
      const on = await fetch(`${url}/fail`, { method: 'POST' });
      assert.equal(on.status, 200);
      assert.equal(((await on.json()) as { failing: boolean }).failing, true);
      const down = await fetch(`${url}/health`);
      assert.equal(down.status, 503);
      assert.equal(((await down.json()) as { error: string }).error, 'SHOP_UNHEALTHY');
      const off = await fetch(`${url}/fail`, { method: 'POST' });
      assert.equal(((await off.json()) as { failing: boolean }).failing, false);
      assert.equal((await fetch(`${url}/health`)).status, 200);
    }
  });
});
