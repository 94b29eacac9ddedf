import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { REVOCATIONS_FEED_PATH } from '@gatehouse/core';
import { waitFor } from '@gatehouse/core/testing';
import {
  AUDIENCE,
  type Harness,
  ISSUER,
  type Keys,
  makeKeys,
  mintToken,
  nowSec,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

/** The identity provider's feed, down until `up` is set; `revocations` is what it lists. */
let up = false;
let revocations: unknown[] = [];
let feedServer: Server;
let feedUrl: string;
let upstream: Upstream;
let keys: Keys;
let gw: Harness;

const section = (pollIntervalMs: number) => ({
  auth: { issuer: ISSUER, audiences: [AUDIENCE], revocationFeed: { url: feedUrl, pollIntervalMs } },
  routes: [{ id: 'echo', match: { path: '/echo' }, upstreams: [upstream.url], policy: 'authenticated' }],
});

before(async () => {
  feedServer = createServer((req, res) => {
    if (!up || !req.url?.startsWith(REVOCATIONS_FEED_PATH)) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ revocations, cursor: String(revocations.length) }));
  });
  await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
  feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}${REVOCATIONS_FEED_PATH}`;
  upstream = await startEcho();
  keys = await makeKeys();
  gw = await startGateway(section(100), { keys });
});

after(async () => {
  await gw.close();
  await upstream.close();
  await new Promise<void>((resolve) => feedServer.close(() => resolve()));
});

describe('a gateway with a revocation feed', () => {
  test('accepts no token before its first catch-up: 503 SDK_REVOCATION_UNAVAILABLE, and not ready', async () => {
    const before = upstream.received.length;
    const a = await send(gw.url, '/echo', {
      headers: [['Authorization', `Bearer ${await mintToken(keys)}`]],
    });
    assert.equal(a.status, 503);
    assert.equal(a.json().error, 'SDK_REVOCATION_UNAVAILABLE');
    assert.equal(upstream.received.length, before);
    const ready = await send(gw.url, '/_gatehouse/health/ready');
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.json(), { status: 'failing', checks: { state: 'ok', revocations: 'failing' } });
  });

  test('serves once the feed answers, and enforces what the feed lists on a cached token', async () => {
    const token = await mintToken(keys, { jti: 'listed-later' });
    up = true;
    await waitFor(async () => (await send(gw.url, '/_gatehouse/health/ready')).status === 200, {
      what: 'ready',
      timeoutMs: 2000,
    });
    const ok = await send(gw.url, '/echo', { headers: [['Authorization', `Bearer ${token}`]] });
    assert.equal(ok.status, 200);

    revocations = [{ kind: 'jti', value: 'listed-later', expiresAt: nowSec() + 60 }];
    await waitFor(
      async () =>
        (await send(gw.url, '/echo', { headers: [['Authorization', `Bearer ${token}`]] })).status === 401,
      { what: 'the poll finds the revocation', timeoutMs: 2000 },
    );
    const refused = await send(gw.url, '/echo', { headers: [['Authorization', `Bearer ${token}`]] });
    assert.equal(refused.json().error, 'SDK_TOKEN_REVOKED');
  });

  test('keeps serving with what it has while the feed is down', async () => {
    up = false;
    const a = await send(gw.url, '/echo', {
      headers: [['Authorization', `Bearer ${await mintToken(keys)}`]],
    });
    assert.equal(a.status, 200);
    up = true;
  });

  test('refuses a reload that changes the feed', async () => {
    await assert.rejects(gw.gateway.reload(section(5000)), { code: 'GW_CONFIG_INVALID' });
  });
});
