import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '@gatehouse/core';
import { validateGatewayConfig } from '../src/validate-config.ts';
import {
  type Harness,
  type Keys,
  makeKeys,
  mintToken,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

const APP = 'https://app.example';

describe('per-route CORS at the gateway', () => {
  let upstream: Upstream;
  let gw: Harness;
  let keys: Keys;

  before(async () => {
    upstream = await startEcho();
    keys = await makeKeys();
    gw = await startGateway(
      {
        routes: [
          {
            id: 'orders',
            match: { path: '/orders' },
            upstreams: [upstream.url],
            policy: 'authenticated',
            cors: { origins: [APP], methods: ['GET', 'POST'], exposeHeaders: ['x-request-id'] },
          },
          {
            id: 'cookies',
            match: { path: '/cookies' },
            upstreams: [upstream.url],
            policy: 'authenticated',
            cors: { origins: [APP], credentials: true },
          },
          {
            id: 'open',
            match: { path: '/open' },
            upstreams: [upstream.url],
            policy: 'public',
            cors: { origins: ['*'] },
          },
          { id: 'plain', match: { path: '/plain' }, upstreams: [upstream.url], policy: 'authenticated' },
        ],
      },
      { keys },
    );
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const preflight = (path: string, origin: string, method = 'GET', headers = 'authorization') =>
    send(gw.url, path, {
      method: 'OPTIONS',
      headers: [
        ['Origin', origin],
        ['Access-Control-Request-Method', method],
        ['Access-Control-Request-Headers', headers],
      ],
    });

  test('a preflight from an allowed origin is answered 204 before authentication, never sent upstream', async () => {
    const before = upstream.received.length;
    const a = await preflight('/orders', APP, 'POST', 'authorization, content-type');
    assert.equal(a.status, 204);
    assert.equal(a.headers['access-control-allow-origin'], APP);
    assert.equal(a.headers['access-control-allow-methods'], 'GET, POST');
    assert.equal(a.headers['access-control-allow-headers'], 'authorization, content-type');
    assert.equal(a.headers['access-control-max-age'], '600');
    assert.equal(a.headers['access-control-allow-credentials'], undefined);
    assert.match(String(a.headers.vary), /Origin/);
    assert.equal(upstream.received.length, before);
  });

  test('a preflight from another origin is 403 GW_CORS_REFUSED without CORS headers', async () => {
    const a = await preflight('/orders', 'https://evil.example');
    assert.equal(a.status, 403);
    assert.equal(a.json().error, 'GW_CORS_REFUSED');
    assert.equal(a.headers['access-control-allow-origin'], undefined);
  });

  test('a preflight for a method or a header the route does not allow is 403 GW_CORS_REFUSED', async () => {
    const method = await preflight('/orders', APP, 'DELETE');
    assert.equal(method.status, 403);
    assert.equal(method.json().error, 'GW_CORS_REFUSED');
    const header = await preflight('/orders', APP, 'GET', 'authorization, x-user-id');
    assert.equal(header.status, 403);
    assert.equal(header.json().error, 'GW_CORS_REFUSED');
  });

  test('the real request from an allowed origin carries Access-Control-Allow-Origin on 200 and on 401', async () => {
    const token = await mintToken(keys, { sub: 'alice' });
    const ok = await send(gw.url, '/orders', {
      headers: [
        ['Origin', APP],
        ['Authorization', `Bearer ${token}`],
      ],
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
    assert.equal(ok.headers['access-control-expose-headers'], 'x-request-id');
    const refused = await send(gw.url, '/orders', { headers: [['Origin', APP]] });
    assert.equal(refused.status, 401);
    assert.equal(refused.json().error, 'SDK_TOKEN_MISSING');
    assert.equal(refused.headers['access-control-allow-origin'], APP);
  });

  test('a request from another origin gets no CORS header (the browser hides the answer)', async () => {
    const token = await mintToken(keys, { sub: 'alice' });
    const a = await send(gw.url, '/orders', {
      headers: [
        ['Origin', 'https://evil.example'],
        ['Authorization', `Bearer ${token}`],
      ],
    });
    assert.equal(a.headers['access-control-allow-origin'], undefined);
  });

  test('credentials: true answers with the origin itself and Allow-Credentials', async () => {
    const a = await preflight('/cookies', APP);
    assert.equal(a.status, 204);
    assert.equal(a.headers['access-control-allow-origin'], APP);
    assert.equal(a.headers['access-control-allow-credentials'], 'true');
  });

  test('"*" without credentials answers any origin with *', async () => {
    const a = await send(gw.url, '/open', { headers: [['Origin', 'https://anyone.example']] });
    assert.equal(a.status, 200);
    assert.equal(a.headers['access-control-allow-origin'], '*');
  });

  test('a route without a CORS policy is unchanged: a preflight meets authentication', async () => {
    const a = await preflight('/plain', APP);
    assert.equal(a.status, 401);
    assert.equal(a.headers['access-control-allow-origin'], undefined);
  });

  test('"*" with credentials is refused at configuration time', () => {
    assert.throws(
      () =>
        validateGatewayConfig({
          routes: [
            {
              id: 'bad',
              match: { path: '/x' },
              upstreams: ['http://127.0.0.1:1'],
              cors: { origins: ['*'], credentials: true },
            },
          ],
        }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /route bad allows any origin \("\*"\) with credentials/.test(err.problems[0]!),
    );
  });

  test('an origin with a path, or not http(s), is refused at configuration time', () => {
    for (const origin of ['https://app.example/', 'ftp://app.example', 'https://*.example']) {
      assert.throws(
        () =>
          validateGatewayConfig({
            routes: [
              {
                id: 'bad',
                match: { path: '/x' },
                upstreams: ['http://127.0.0.1:1'],
                cors: { origins: [origin] },
              },
            ],
          }),
        ConfigError,
        origin,
      );
    }
  });
});
