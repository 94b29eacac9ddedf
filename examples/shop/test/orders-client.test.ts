import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { type ServiceClient, sdkError, type TokenOptions } from '@gatehouse/sdk';
import { closeServer, listen } from '../../shared/src/listen.ts';
import { createOrdersClient } from '../src/orders-client.ts';
import { ORDERS_ADD_SCOPE, ORDERS_AUDIENCE } from '../src/service-identities.ts';

const order = {
  userId: 'bob-id',
  productId: 1,
  productName: 'Mechanical keyboard',
  quantity: 1,
  unitPriceCents: 8900,
};

/** A service client that adds a fixed token and records what it was asked for. */
function fakeTokens(fail?: Error) {
  const asked: TokenOptions[] = [];
  const tokens: Pick<ServiceClient, 'fetch'> = {
    async fetch(url, init = {}, options = {}) {
      asked.push(options);
      if (fail) throw fail;
      return fetch(url, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: 'Bearer token' },
      });
    },
  };
  return { tokens, asked };
}

describe('the products service calling the orders service', () => {
  let live: Server;
  let refusing: Server;
  let liveUrl: string;
  let refusingUrl: string;
  let deadUrl: string;

  before(async () => {
    live = createServer((req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ order: { id: 7, auth: req.headers.authorization } }));
    });
    refusing = createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"error":"SDK_INSUFFICIENT_SCOPE"}');
    });
    liveUrl = await listen(live);
    refusingUrl = await listen(refusing);
    const dead = createServer();
    deadUrl = await listen(dead);
    await closeServer(dead); // nothing listens there any more: connections are refused
  });
  after(async () => {
    await closeServer(live);
    await closeServer(refusing);
  });

  test('asks for a token for the orders audience with orders:add and sends it', async () => {
    const { tokens, asked } = fakeTokens();
    const client = createOrdersClient({ urls: [liveUrl], tokens, logger: silentLogger() });
    assert.deepEqual(await client.add(order), { id: 7, auth: 'Bearer token' });
    assert.deepEqual(asked, [{ audience: ORDERS_AUDIENCE, scope: ORDERS_ADD_SCOPE }]);
  });

  test('a replica that refuses the connection is skipped for the next one', async () => {
    const { tokens } = fakeTokens();
    const client = createOrdersClient({ urls: [deadUrl, liveUrl], tokens, logger: silentLogger() });
    assert.equal((await client.add(order)).id, 7);
  });

  test('no replica answering is 503 SHOP_ORDERS_UNAVAILABLE', async () => {
    const { tokens } = fakeTokens();
    const client = createOrdersClient({ urls: [deadUrl], tokens, logger: silentLogger() });
    await assert.rejects(client.add(order), { code: 'SHOP_ORDERS_UNAVAILABLE', status: 503 });
  });

  test('a refusal by the orders service is 502 SHOP_ORDER_REFUSED', async () => {
    const { tokens } = fakeTokens();
    const client = createOrdersClient({ urls: [refusingUrl], tokens, logger: silentLogger() });
    await assert.rejects(client.add(order), { code: 'SHOP_ORDER_REFUSED', status: 502 });
  });

  test("a token that cannot be had fails with the sdk's own code", async () => {
    const { tokens } = fakeTokens(sdkError('SDK_TOKEN_ENDPOINT_UNAVAILABLE'));
    const client = createOrdersClient({ urls: [liveUrl], tokens, logger: silentLogger() });
    await assert.rejects(client.add(order), { code: 'SDK_TOKEN_ENDPOINT_UNAVAILABLE', status: 503 });
  });
});
