import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { openTestSql, type TestSql } from '@gatehouse/core/testing';
import type { Principal, ServiceClient, Verifier } from '@gatehouse/sdk';
import { closeServer, listen } from '../../shared/src/listen.ts';
import { createOrderStore, ordersMigrations } from '../src/order-store.ts';
import { createOrdersClient } from '../src/orders-client.ts';
import { createOrdersService } from '../src/orders-service.ts';
import { ORDERS_ADD_SCOPE, ORDERS_AUDIENCE, PRODUCTS_CLIENT_ID } from '../src/service-identities.ts';

const order = {
  userId: 'bob-id',
  productId: 2,
  productName: 'Wireless mouse',
  quantity: 1,
  unitPriceCents: 3900,
};
const KEY = '3f1c2b9e-7a44-4c1e-9d7e-2b8f0a6c5d11';

/** Every bearer token is the products service's, with the right to add orders. */
const productsPrincipal: Principal = {
  kind: 'service',
  subject: PRODUCTS_CLIENT_ID,
  clientId: PRODUCTS_CLIENT_ID,
  roles: [],
  scopes: [ORDERS_ADD_SCOPE],
  audience: [ORDERS_AUDIENCE],
  tokenId: 'token-1',
  expiresAt: Math.floor(Date.now() / 1000) + 3600,
  claims: {},
};
const verifier: Verifier = {
  verifyAccessToken: async () => productsPrincipal,
  verifyAuthorization: async () => productsPrincipal,
  verifySessionToken: async () => {
    throw new Error('no sessions here');
  },
  revoke: () => {},
  stats: { hits: 0, misses: 0 },
};
const tokens: Pick<ServiceClient, 'fetch'> = {
  fetch: (url, init = {}) =>
    fetch(url, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), authorization: 'Bearer t' },
    }),
};

describe('adding an order is idempotent per caller and Idempotency-Key', () => {
  let db: TestSql;
  let orders: Server;
  let ordersUrl: string;

  const add = (headers: Record<string, string>, body: unknown = order) =>
    fetch(`${ordersUrl}/microservice/orders/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t', ...headers },
      body: JSON.stringify(body),
    });
  const count = async () =>
    (await db.sql.query<{ n: number }>('select count(*)::int as n from shop_orders.orders'))[0]!.n;

  before(async () => {
    db = await openTestSql('pglite', { migrations: [ordersMigrations] });
    orders = createOrdersService({ sql: db.sql, logger: silentLogger(), verifier, mode: 'production' });
    ordersUrl = await listen(orders);
  });
  after(async () => {
    await closeServer(orders);
    await db.cleanup();
  });
  beforeEach(() => db.sql.query('delete from shop_orders.orders'));

  test('the same key twice adds one order, and the second answer equals the first', async () => {
    const first = await add({ 'idempotency-key': KEY });
    const second = await add({ 'idempotency-key': KEY });
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.deepEqual(await second.json(), await first.json());
    assert.equal(await count(), 1);
  });

  test('concurrent calls with one key add one order and all answer it', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map(() => add({ 'idempotency-key': KEY })));
    const bodies = await Promise.all(answers.map((r) => r.json()));
    assert.deepEqual(
      answers.map((r) => r.status),
      [201, 201, 201, 201],
    );
    for (const b of bodies) assert.deepEqual(b, bodies[0]);
    assert.equal(await count(), 1);
  });

  test('the same key with a different order is 422 SHOP_IDEMPOTENCY_KEY_REUSED and adds nothing', async () => {
    assert.equal((await add({ 'idempotency-key': KEY })).status, 201);
    const res = await add({ 'idempotency-key': KEY }, { ...order, quantity: 2 });
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { error: string }).error, 'SHOP_IDEMPOTENCY_KEY_REUSED');
    assert.equal(await count(), 1);
  });

  test('different keys add different orders', async () => {
    assert.equal((await add({ 'idempotency-key': 'key-a' })).status, 201);
    assert.equal((await add({ 'idempotency-key': 'key-b' })).status, 201);
    assert.equal(await count(), 2);
  });

  test('no key is 400 SHOP_IDEMPOTENCY_KEY_MISSING and adds nothing', async () => {
    const res = await add({});
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'SHOP_IDEMPOTENCY_KEY_MISSING');
    assert.equal(await count(), 0);
  });

  test('an empty, oversized or malformed key is 400 SHOP_IDEMPOTENCY_KEY_INVALID and adds nothing', async () => {
    for (const key of ['', 'k'.repeat(65), 'two words', `"${KEY}"`, 'a,b', 'key;drop', '%00', 'clé']) {
      const res = await fetch(`${ordersUrl}/microservice/orders/add`, {
        method: 'POST',
        headers: [
          ['content-type', 'application/json'],
          ['authorization', 'Bearer t'],
          ['idempotency-key', key],
        ],
        body: JSON.stringify(order),
      }).catch(() => undefined);
      // A header value fetch itself refuses to send (non-Latin-1) never reaches the service.
      if (!res) continue;
      assert.equal(res.status, 400, key);
      assert.equal(((await res.json()) as { error: string }).error, 'SHOP_IDEMPOTENCY_KEY_INVALID', key);
    }
    assert.equal((await add({ 'idempotency-key': 'k'.repeat(64) })).status, 201);
    assert.equal(await count(), 1);
  });

  test('the key sent twice in one request is 400 SHOP_IDEMPOTENCY_KEY_INVALID', async () => {
    const headers = new Headers({ 'content-type': 'application/json', authorization: 'Bearer t' });
    headers.append('idempotency-key', 'key-a');
    headers.append('idempotency-key', 'key-b');
    const res = await fetch(`${ordersUrl}/microservice/orders/add`, {
      method: 'POST',
      headers,
      body: JSON.stringify(order),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'SHOP_IDEMPOTENCY_KEY_INVALID');
    assert.equal(await count(), 0);
  });

  test("keys are per caller: another caller's same key is its own order", async () => {
    const store = createOrderStore(db.sql);
    const mine = await store.add(order, PRODUCTS_CLIENT_ID, KEY);
    const theirs = await store.add({ ...order, quantity: 3 }, 'another-service', KEY);
    assert.equal(mine.repeated, false);
    assert.equal(theirs.repeated, false);
    assert.notEqual(mine.order.id, theirs.order.id);
    assert.equal(await count(), 2);
  });

  describe('the products service retrying on a lost connection, with the same key', () => {
    let storesThenResets: Server;
    let resetsBeforeStoring: Server;
    let closesBeforeStoring: Server;
    const keysSeen: (string | undefined)[] = [];

    before(async () => {
      // A real orders replica that stores the order, then resets the connection instead of answering.
      storesThenResets = createOrdersService({
        sql: db.sql,
        logger: silentLogger(),
        verifier,
        mode: 'production',
      });
      storesThenResets.prependListener('request', (req, res) => {
        keysSeen.push(req.headers['idempotency-key'] as string | undefined);
        res.writeHead = (() => {
          req.socket.resetAndDestroy();
          return res;
        }) as typeof res.writeHead;
      });
      // Replicas that read the whole request, then reset or close before anything is stored.
      resetsBeforeStoring = createServer((req) => {
        keysSeen.push(req.headers['idempotency-key'] as string | undefined);
        req.resume();
        req.on('end', () => req.socket.resetAndDestroy());
      });
      closesBeforeStoring = createServer((req) => {
        keysSeen.push(req.headers['idempotency-key'] as string | undefined);
        req.resume();
        req.on('end', () => req.socket.end());
      });
      await Promise.all([listen(storesThenResets), listen(resetsBeforeStoring), listen(closesBeforeStoring)]);
    });
    after(async () => {
      for (const s of [storesThenResets, resetsBeforeStoring, closesBeforeStoring]) s.closeAllConnections();
      await Promise.all([storesThenResets, resetsBeforeStoring, closesBeforeStoring].map(closeServer));
    });
    beforeEach(() => {
      keysSeen.length = 0;
    });

    const urlOf = (s: Server) => `http://127.0.0.1:${(s.address() as { port: number }).port}`;

    test('stored, then reset: the next replica answers the stored order, and one order exists', async () => {
      const client = createOrdersClient({
        urls: [urlOf(storesThenResets), ordersUrl],
        tokens,
        logger: silentLogger(),
      });
      const got = await client.add(order, KEY);
      assert.equal(await count(), 1);
      const [stored] = await db.sql.query<{ id: number; idempotency_key: string }>(
        'select id, idempotency_key from shop_orders.orders',
      );
      assert.equal(got.id, stored!.id);
      assert.equal(stored!.idempotency_key, KEY);
      assert.deepEqual(keysSeen, [KEY]);
    });

    test('reset before storing: the next replica adds the order, once', async () => {
      const client = createOrdersClient({
        urls: [urlOf(resetsBeforeStoring), ordersUrl],
        tokens,
        logger: silentLogger(),
      });
      const got = await client.add(order);
      assert.equal(got.productName, order.productName);
      assert.equal(await count(), 1);
      const [stored] = await db.sql.query<{ idempotency_key: string }>(
        'select idempotency_key from shop_orders.orders',
      );
      assert.deepEqual(keysSeen, [stored!.idempotency_key]);
    });

    test('closed before the answer: the next replica adds the order, once', async () => {
      const client = createOrdersClient({
        urls: [urlOf(closesBeforeStoring), ordersUrl],
        tokens,
        logger: silentLogger(),
      });
      await client.add(order, KEY);
      assert.equal(await count(), 1);
      assert.deepEqual(keysSeen, [KEY]);
    });

    test('every replica losing the connection is 503 SHOP_ORDERS_UNAVAILABLE, each tried with the same key', async () => {
      const client = createOrdersClient({
        urls: [urlOf(storesThenResets), urlOf(resetsBeforeStoring)],
        tokens,
        logger: silentLogger(),
      });
      await assert.rejects(client.add(order, KEY), { code: 'SHOP_ORDERS_UNAVAILABLE', status: 503 });
      assert.deepEqual(keysSeen, [KEY, KEY, KEY]);
      assert.equal(await count(), 1);
    });

    test('an answer of the orders service is never retried: the same key with another order is refused', async () => {
      // Round-robin: the first call goes to the real replica, the second to the closing one first.
      const client = createOrdersClient({
        urls: [ordersUrl, urlOf(closesBeforeStoring)],
        tokens,
        logger: silentLogger(),
      });
      await client.add(order, KEY);
      await assert.rejects(client.add({ ...order, quantity: 5 }, KEY), {
        code: 'SHOP_ORDER_REFUSED',
        status: 502,
      });
      // Lost once on the closing replica, refused 422 by the real one, and not tried again after that.
      assert.deepEqual(keysSeen, [KEY]);
      assert.equal(await count(), 1);
    });
  });
});
