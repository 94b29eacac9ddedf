import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@gatehouse/core/testing';
import {
  closeServer,
  type Harness,
  type Keys,
  makeKeys,
  mintToken,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

let upstream: Upstream;
let gw: Harness;
let keys: Keys;
// An upstream that holds every request until the test lets it go.
const held: ServerResponse[] = [];
const slow = createServer((_req, res) => {
  held.push(res);
});
let slowUrl: string;

before(async () => {
  upstream = await startEcho();
  slow.listen(0, '127.0.0.1');
  await once(slow, 'listening');
  slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  keys = await makeKeys();
  gw = await startGateway(
    {
      routes: [
        {
          id: 'by-ip',
          match: { path: '/by-ip' },
          upstreams: [upstream.url],
          policy: 'public',
          rateLimit: { average: 1, period: '1h', burst: 3, key: 'ip' },
        },
        {
          id: 'by-user',
          match: { path: '/by-user' },
          upstreams: [upstream.url],
          policy: 'authenticated',
          rateLimit: { average: 1, period: '1h', burst: 2, key: 'user' },
        },
        {
          id: 'login-ish',
          match: { path: '/guarded' },
          upstreams: [upstream.url],
          policy: 'authenticated',
          rateLimit: { average: 1, period: '1h', burst: 2, key: 'ip' },
        },
        {
          id: 'inflight',
          match: { path: '/inflight' },
          upstreams: [slowUrl],
          policy: 'public',
          timeoutMs: 60_000,
          inflight: { max: 2, key: 'ip' },
        },
      ],
    },
    { keys },
  );
});

after(async () => {
  for (const r of held) r.end();
  await gw.close();
  await upstream.close();
  await closeServer(slow);
});

describe('rate limit', () => {
  test('burst 3: three requests pass, the fourth is 429 GW_RATE_LIMITED with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(gw.url, '/by-ip')).status);
    assert.deepEqual(statuses, [200, 200, 200]);
    const a = await send(gw.url, '/by-ip');
    assert.equal(a.status, 429);
    assert.deepEqual(a.json(), { error: 'GW_RATE_LIMITED', message: 'Too many requests' });
    const retryAfter = Number(a.headers['retry-after']);
    assert.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 3600,
      `Retry-After ${retryAfter}`,
    );
    assert.match(String(a.headers.ratelimit), /^default;r=0;t=\d+$/);
    assert.ok(a.headers['ratelimit-policy']);
  });

  test('an allowed answer carries the remaining budget', async () => {
    const a = await send(gw.url, '/by-user', {
      headers: [['Authorization', `Bearer ${await mintToken(keys, { sub: 'counted' })}`]],
    });
    assert.equal(a.status, 200);
    assert.match(String(a.headers.ratelimit), /^default;r=1;t=\d+$/);
  });

  test('an address key counts requests with bad tokens too: the third is 429 before verification', async () => {
    const bad: [string, string][] = [['Authorization', 'Bearer bad.token.value']];
    assert.equal((await send(gw.url, '/guarded', { headers: bad })).status, 401);
    assert.equal((await send(gw.url, '/guarded', { headers: bad })).status, 401);
    const a = await send(gw.url, '/guarded', { headers: bad });
    assert.equal(a.status, 429);
    assert.equal(a.json().error, 'GW_RATE_LIMITED');
  });

  test('a user key counts each user on their own bucket', async () => {
    const erin = [['Authorization', `Bearer ${await mintToken(keys, { sub: 'erin' })}`]] as [
      string,
      string,
    ][];
    const frank = [['Authorization', `Bearer ${await mintToken(keys, { sub: 'frank' })}`]] as [
      string,
      string,
    ][];
    assert.equal((await send(gw.url, '/by-user', { headers: erin })).status, 200);
    assert.equal((await send(gw.url, '/by-user', { headers: erin })).status, 200);
    assert.equal((await send(gw.url, '/by-user', { headers: erin })).status, 429);
    assert.equal((await send(gw.url, '/by-user', { headers: frank })).status, 200);
  });
});

describe('in-flight limit', () => {
  test('max 2: a third concurrent request is 429 GW_TOO_MANY_INFLIGHT; a slot frees when one ends', async () => {
    const first = send(gw.url, '/inflight');
    const second = send(gw.url, '/inflight');
    await waitFor(() => held.length === 2, { what: 'two requests held upstream' });
    const third = await send(gw.url, '/inflight');
    assert.equal(third.status, 429);
    assert.equal(third.json().error, 'GW_TOO_MANY_INFLIGHT');
    assert.equal(third.headers['retry-after'], '1');

    held.shift()!.end('done');
    assert.equal((await first).status, 200);
    const fourth = send(gw.url, '/inflight');
    await waitFor(() => held.length === 2, { what: 'the fourth request held upstream' });
    for (const r of held.splice(0)) r.end('done');
    assert.equal((await second).status, 200);
    assert.equal((await fourth).status, 200);
  });
});
