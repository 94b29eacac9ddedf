import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAssertionSigner } from '@gatehouse/sdk';
import { createNodeGuard } from '@gatehouse/sdk/node-http';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { validateGatewayConfig } from '../src/validate-config.ts';
import {
  closeServer,
  echoed,
  type Harness,
  type Keys,
  makeKeys,
  mintToken,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

/**
 * The gateway signs X-Gatehouse-Assertion for routes that ask for it, and a service built on the
 * sdk, trusting only that assertion (no verifier for bearer tokens at all), accepts what the gateway
 * forwards and refuses bare, forged or replayed identity headers.
 */

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

let keys: Keys;
let echo: Upstream;
let gw: Harness;
let service: Server;
let serviceUrl: string;
let token: string;
const seen: Seen[] = [];
let getKey: JWTVerifyGetKey | undefined;

before(async () => {
  keys = await makeKeys();
  echo = await startEcho();
  // The orders service: trusts the gateway's assertion and nothing else. Its key resolver is the
  // gateway's JWKS, known once the gateway listens.
  let guard: ReturnType<typeof createNodeGuard> | undefined;
  service = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (!guard) {
      guard = createNodeGuard({
        gateway: {
          assertion: {
            issuer: 'gatehouse-gateway',
            audience: 'orders',
            getKey: getKey as JWTVerifyGetKey,
          },
        },
      });
    }
    guard.protect((r, w) => {
      const p = r.principal;
      const body = JSON.stringify({
        subject: p.subject,
        kind: p.kind,
        username: p.username,
        clientId: p.clientId,
        roles: p.roles,
        scopes: p.scopes,
        sessionId: p.sessionId,
      });
      w.writeHead(200, { 'content-type': 'application/json' });
      w.end(body);
    })(req, res);
  });
  service.listen(0, '127.0.0.1');
  await once(service, 'listening');
  serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;

  gw = await startGateway(
    {
      assertion: { enabled: true },
      routes: [
        {
          id: 'orders',
          match: { path: '/orders' },
          upstreams: [serviceUrl],
          policy: 'authenticated',
          assertion: { audience: 'orders' },
        },
        {
          id: 'orders-api',
          match: { path: '/api/orders' },
          stripPrefix: true,
          upstreams: [serviceUrl],
          policy: 'authenticated',
          assertion: { audience: 'orders' },
        },
        { id: 'wrong-audience', match: { path: '/billing' }, upstreams: [serviceUrl], assertion: true },
        { id: 'plain', match: { path: '/plain' }, upstreams: [echo.url], policy: 'authenticated' },
        { id: 'open', match: { path: '/open' }, upstreams: [echo.url], policy: 'public', assertion: true },
      ],
    },
    { keys },
  );
  getKey = createRemoteJWKSet(new URL(`${gw.url}/_gatehouse/jwks`));
  token = await mintToken(keys, {
    sub: 'alice',
    username: 'alice',
    roles: ['user', 'buyer'],
    client_id: 'web',
    scope: 'openid orders:read',
    sid: 'sid-alice',
  });
});

after(async () => {
  await gw.close();
  await closeServer(service);
  await echo.close();
});

const bearer = (t: string): [string, string] => ['Authorization', `Bearer ${t}`];

/** The last request the orders service received, as headers to send it again directly. */
function replayHeaders(s: Seen, override: Record<string, string> = {}): [string, string][] {
  const names = [
    'x-gatehouse-assertion',
    'x-user-id',
    'x-user-name',
    'x-user-roles',
    'x-client-id',
    'x-scopes',
  ];
  const out: [string, string][] = [];
  for (const n of names) {
    const v = override[n] ?? s.headers[n];
    if (typeof v === 'string') out.push([n, v]);
  }
  return out;
}

describe('the gateway assertion', () => {
  test('the gateway publishes one ES256 public key at /_gatehouse/jwks', async () => {
    const a = await send(gw.url, '/_gatehouse/jwks');
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/jwk-set+json');
    const { keys: published } = a.json() as { keys: Record<string, unknown>[] };
    assert.equal(published.length, 1);
    assert.equal(published[0]!['kty'], 'EC');
    assert.equal(published[0]!['crv'], 'P-256');
    assert.equal(published[0]!['alg'], 'ES256');
    assert.equal(published[0]!['d'], undefined);
    assert.equal(typeof published[0]!['kid'], 'string');
  });

  test('a service trusting only assertions accepts a request forwarded by the gateway', async () => {
    const a = await send(gw.url, '/orders/list?page=2', { headers: [bearer(token)] });
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.json(), {
      subject: 'alice',
      kind: 'user',
      username: 'alice',
      clientId: 'web',
      roles: ['user', 'buyer'],
      scopes: ['openid', 'orders:read'],
      sessionId: 'sid-alice',
    });
    assert.equal(seen.at(-1)!.url, '/orders/list?page=2');
  });

  test('a user whose name and roles need encoding is accepted with the decoded values', async () => {
    const unusual = await mintToken(keys, {
      sub: 'zoë%1',
      username: 'Zoë Ünal',
      roles: ['user', 'ops,admin'],
      client_id: 'web',
      scope: 'openid',
      sid: 'sid-zoe',
    });
    const a = await send(gw.url, '/orders/list', { headers: [bearer(unusual)] });
    assert.equal(a.status, 200, a.text);
    const seenHeaders = seen.at(-1)!.headers;
    assert.equal(seenHeaders['x-user-id'], 'zo%C3%AB%251');
    assert.equal(seenHeaders['x-user-roles'], 'user,ops%2Cadmin');
    assert.deepEqual(a.json(), {
      subject: 'zoë%1',
      kind: 'user',
      username: 'Zoë Ünal',
      clientId: 'web',
      roles: ['user', 'ops,admin'],
      scopes: ['openid'],
      sessionId: 'sid-zoe',
    });
  });

  test('the assertion names the path the service receives after a prefix strip', async () => {
    const a = await send(gw.url, '/api/orders/list', { headers: [bearer(token)] });
    assert.equal(a.status, 200, a.text);
    assert.equal(seen.at(-1)!.url, '/list');
  });

  test('an assertion written by the client is replaced by the gateway', async () => {
    const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await createAssertionSigner({
      issuer: 'gatehouse-gateway',
      privateKey: forger.privateKey,
      kid: 'forged',
    }).sign({
      principal: {
        kind: 'user',
        subject: 'admin',
        clientId: 'web',
        roles: ['admin'],
        scopes: [],
        tokenId: 'x',
        expiresAt: 0,
      },
      audience: 'orders',
      method: 'GET',
      path: '/orders/list',
    });
    const a = await send(gw.url, '/orders/list', {
      headers: [bearer(token), ['X-Gatehouse-Assertion', forged]],
    });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.json()['subject'], 'alice');
    assert.notEqual(seen.at(-1)!.headers['x-gatehouse-assertion'], forged);
  });

  test('bare identity headers sent straight to the service are refused', async () => {
    const a = await send(serviceUrl, '/orders/list', {
      headers: [
        ['X-User-ID', 'admin'],
        ['X-User-Roles', 'admin'],
      ],
    });
    assert.equal(a.status, 401);
    assert.equal(a.json()['error'], 'SDK_TOKEN_MISSING');
  });

  test('an assertion signed by another key is refused by the service', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const published = (await send(gw.url, '/_gatehouse/jwks')).json() as { keys: { kid: string }[] };
    const forged = await createAssertionSigner({
      issuer: 'gatehouse-gateway',
      privateKey: other.privateKey,
      kid: published.keys[0]!.kid,
    }).sign({
      principal: {
        kind: 'user',
        subject: 'admin',
        clientId: 'web',
        roles: ['admin'],
        scopes: [],
        tokenId: 'x',
        expiresAt: 0,
      },
      audience: 'orders',
      method: 'GET',
      path: '/orders/list',
    });
    const a = await send(serviceUrl, '/orders/list', {
      headers: [
        ['X-Gatehouse-Assertion', forged],
        ['X-User-ID', 'admin'],
      ],
    });
    assert.equal(a.status, 401);
    assert.equal(a.json()['error'], 'SDK_ASSERTION_INVALID');
    assert.match(String(a.headers['www-authenticate']), /error="invalid_token"/);
  });

  test('an assertion replayed against another path is refused', async () => {
    assert.equal((await send(gw.url, '/orders/list', { headers: [bearer(token)] })).status, 200);
    const captured = seen.at(-1)!;
    const same = await send(serviceUrl, '/orders/list', { headers: replayHeaders(captured) });
    assert.equal(same.status, 200, 'the captured request itself is still valid');
    const a = await send(serviceUrl, '/orders/admin', { headers: replayHeaders(captured) });
    assert.equal(a.status, 401);
    assert.equal(a.json()['error'], 'SDK_ASSERTION_INVALID');
  });

  test('an assertion replayed with another method is refused', async () => {
    assert.equal((await send(gw.url, '/orders/list', { headers: [bearer(token)] })).status, 200);
    const a = await send(serviceUrl, '/orders/list', {
      method: 'DELETE',
      headers: replayHeaders(seen.at(-1)!),
    });
    assert.equal(a.status, 401);
    assert.equal(a.json()['error'], 'SDK_ASSERTION_INVALID');
  });

  test('an identity header changed beside a valid assertion is refused', async () => {
    assert.equal((await send(gw.url, '/orders/list', { headers: [bearer(token)] })).status, 200);
    const a = await send(serviceUrl, '/orders/list', {
      headers: replayHeaders(seen.at(-1)!, { 'x-user-roles': 'user,buyer,admin' }),
    });
    assert.equal(a.status, 401);
    assert.equal(a.json()['error'], 'SDK_ASSERTION_INVALID');
  });

  test('an assertion made for another service is refused', async () => {
    // Route "wrong-audience" signs for audience "wrong-audience"; the orders service is "orders".
    const a = await send(gw.url, '/billing/x', { headers: [bearer(token)] });
    assert.equal(a.status, 401);
    assert.equal(a.json()['error'], 'SDK_ASSERTION_INVALID');
  });

  test('a route without the option sends no assertion', async () => {
    const e = echoed(await send(gw.url, '/plain', { headers: [bearer(token)] }));
    assert.equal(e.headers['x-gatehouse-assertion'], undefined);
    assert.equal(e.headers['x-user-id'], 'alice');
  });

  test('an anonymous caller on a public route gets no assertion', async () => {
    const e = echoed(await send(gw.url, '/open'));
    assert.equal(e.headers['x-gatehouse-assertion'], undefined);
    assert.equal(e.headers['x-user-id'], undefined);
  });
});

describe('assertion configuration', () => {
  test('a route asking for an assertion needs gateway.assertion.enabled', () => {
    assert.throws(
      () =>
        validateGatewayConfig({
          routes: [{ id: 'a', match: { path: '/a' }, upstreams: ['http://127.0.0.1:1'], assertion: true }],
        }),
      (err: Error & { problems?: string[] }) => {
        assert.deepEqual(err.problems, [
          'gateway.routes: route a sends an assertion but gateway.assertion.enabled is false',
        ]);
        return true;
      },
    );
  });

  test('the assertion lifetime is at most 60 seconds', () => {
    assert.throws(() => validateGatewayConfig({ assertion: { enabled: true, ttlSec: 61 } }));
  });

  test('two gateways given one key file publish the same key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-assertion-'));
    const keyFile = join(dir, 'assertion.key');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const a = await startGateway({ assertion: { enabled: true, keyFile } }, { keys });
    const b = await startGateway({ assertion: { enabled: true, keyFile } }, { keys });
    try {
      const ja = (await send(a.url, '/_gatehouse/jwks')).json();
      const jb = (await send(b.url, '/_gatehouse/jwks')).json();
      assert.deepEqual(ja, jb);
    } finally {
      await a.close();
      await b.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a key file that is not an ECDSA P-256 key stops the start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gh-assertion-'));
    const keyFile = join(dir, 'rsa.key');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    try {
      await assert.rejects(startGateway({ assertion: { enabled: true, keyFile } }, { keys }), {
        message: `gateway.assertion.keyFile ${keyFile}: an ECDSA P-256 private key is required`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('without assertions enabled there is no /_gatehouse/jwks', async () => {
    const plain = await startGateway({}, { keys });
    try {
      const a = await send(plain.url, '/_gatehouse/jwks');
      assert.equal(a.status, 404);
      assert.equal(a.json()['error'], 'GW_NOT_FOUND');
    } finally {
      await plain.close();
    }
  });
});
