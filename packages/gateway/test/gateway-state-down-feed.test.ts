// Redis down on a gateway that follows the identity provider's durable revocation feed: a fresh
// feed answers the revocation question, so new sessions keep working through the outage and a
// revocation stored in SQL meanwhile is still enforced; a stale feed fails closed as before.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openState, REVOCATIONS_FEED_PATH, type SharedState, storageErrors } from '@gatehouse/core';
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

const POLL_MS = 100;

/** The feed, answering while `feedUp`; `listed` is what it lists. */
let feedUp = true;
let listed: unknown[] = [];
let feedServer: Server;
let upstream: Upstream;
let inner: SharedState;
let keys: Keys;
let gw: Harness;
/** Reads fail while set, as they do when Redis goes away; subscribing still works. */
let stateDown = false;

function switchableState(state: SharedState): SharedState {
  const down = () => Promise.reject(storageErrors.create('GH_STATE_UNAVAILABLE', 'Redis does not answer'));
  return Object.assign(Object.create(state) as SharedState, {
    get: (key: string) => (stateDown ? down() : state.get(key)),
    ping: () => (stateDown ? down() : state.ping()),
    subscribe: state.subscribe.bind(state),
  });
}

before(async () => {
  feedServer = createServer((req, res) => {
    if (!feedUp || !req.url?.startsWith(REVOCATIONS_FEED_PATH)) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ revocations: listed, cursor: String(listed.length) }));
  });
  await new Promise<void>((resolve) => feedServer.listen(0, '127.0.0.1', resolve));
  const feedUrl = `http://127.0.0.1:${(feedServer.address() as AddressInfo).port}${REVOCATIONS_FEED_PATH}`;
  upstream = await startEcho();
  inner = await openState({ driver: 'memory' });
  keys = await makeKeys();
  gw = await startGateway(
    {
      auth: {
        issuer: ISSUER,
        audiences: [AUDIENCE],
        revocationFeed: { url: feedUrl, pollIntervalMs: POLL_MS },
      },
      routes: [{ id: 'echo', match: { path: '/echo' }, upstreams: [upstream.url], policy: 'authenticated' }],
    },
    { keys, state: switchableState(inner) },
  );
  await waitFor(async () => (await send(gw.url, '/_gatehouse/health/ready')).status === 200, {
    what: 'the first catch-up',
    timeoutMs: 5000,
  });
});

after(async () => {
  await gw.close();
  await inner.close();
  await upstream.close();
  await new Promise<void>((resolve) => feedServer.close(() => resolve()));
});

const call = async (token: string) =>
  send(gw.url, '/echo', { headers: [['Authorization', `Bearer ${token}`]] });

describe('a gateway following the revocation feed while its shared state is down', () => {
  test('a token never seen before is accepted: the fresh feed answers for the state', async () => {
    stateDown = true;
    const res = await call(await mintToken(keys));
    assert.equal(res.status, 200);
  });

  test('a revocation the feed lists is enforced on a token never seen before: 401 SDK_TOKEN_REVOKED', async () => {
    stateDown = true;
    listed = [{ kind: 'jti', value: 'revoked-during-outage', expiresAt: nowSec() + 60 }];
    const token = await mintToken(keys, { jti: 'revoked-during-outage' });
    await waitFor(async () => (await call(token)).status === 401, {
      what: 'the poll finds the revocation',
      timeoutMs: 3000,
    });
    assert.equal((await call(token)).json().error, 'SDK_TOKEN_REVOKED');
  });

  test('with the feed down too for longer than three polls, a new token fails closed: 503', async () => {
    stateDown = true;
    feedUp = false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 3 + 300));
    const before = upstream.received.length;
    const res = await call(await mintToken(keys));
    assert.equal(res.status, 503);
    assert.equal(res.json().error, 'SDK_REVOCATION_UNAVAILABLE');
    assert.equal(upstream.received.length, before);
    feedUp = true;
  });

  test('with the state back, new tokens are checked against it again', async () => {
    stateDown = false;
    await waitFor(async () => (await call(await mintToken(keys))).status === 200, {
      what: 'a token accepted',
      timeoutMs: 3000,
    });
  });
});
