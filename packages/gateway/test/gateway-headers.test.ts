import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { canonicalHeaderName } from '../src/upstreams/header-sanitize.ts';
import {
  closeServer,
  type Echoed,
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

let upstream: Upstream;
let gw: Harness;
let trustedGw: Harness;
let keys: Keys;
let token: string;

before(async () => {
  upstream = await startEcho();
  keys = await makeKeys();
  const routes = [
    { id: 'echo', match: { path: '/echo' }, upstreams: [upstream.url], policy: 'authenticated' },
    { id: 'public', match: { path: '/public' }, upstreams: [upstream.url], policy: 'public' },
  ];
  gw = await startGateway({ routes }, { keys });
  trustedGw = await startGateway({ routes, trustedProxies: ['127.0.0.1/32', '::1/128'] }, { keys });
  token = await mintToken(keys, {
    sub: 'alice',
    username: 'alice',
    roles: ['user'],
    client_id: 'web',
    scope: 'openid',
  });
});

after(async () => {
  await gw.close();
  await trustedGw.close();
  await upstream.close();
});

const IDENTITY = [
  'x-user-id',
  'x-user-name',
  'x-user-roles',
  'x-client-id',
  'x-scopes',
  'x-gatehouse-assertion',
];

/** Every header the upstream got whose name reads as an identity header in any spelling. */
function identityLike(e: Echoed): [string, string][] {
  return e.rawHeaders.filter(([name]) => {
    const c = canonicalHeaderName(name);
    return IDENTITY.includes(c) || c.startsWith('x-user-') || c.startsWith('x-gatehouse-');
  });
}

const GATEWAY_SET: [string, string][] = [
  ['x-user-id', 'alice'],
  ['x-user-roles', 'user'],
  ['x-scopes', 'openid'],
  ['x-user-name', 'alice'],
  ['x-client-id', 'web'],
];

describe('spoofed identity headers never reach the upstream', () => {
  const variants: [string, [string, string][]][] = [
    ['exact name', [['X-User-ID', 'admin']]],
    ['lower case', [['x-user-id', 'admin']]],
    ['mixed case', [['x-UsEr-Id', 'admin']]],
    ['underscores', [['X_User_ID', 'admin']]],
    ['dots', [['X.User.ID', 'admin']]],
    ['mixed separators', [['X-User_ID', 'admin']]],
    [
      'duplicated',
      [
        ['X-User-ID', 'admin'],
        ['X-User-ID', 'root'],
      ],
    ],
    [
      'roles',
      [
        ['X-User-Roles', 'admin'],
        ['x_user_roles', 'admin'],
      ],
    ],
    [
      'client and scopes',
      [
        ['X-Client-ID', 'products'],
        ['X-Scopes', 'orders:add'],
        ['X.Scopes', 'admin'],
      ],
    ],
    [
      'gateway assertion',
      [
        ['X-Gatehouse-Assertion', 'forged'],
        ['x_gatehouse_assertion', 'forged'],
      ],
    ],
    [
      'other x-user- names',
      [
        ['X-User-Role', 'admin'],
        ['X-User-Email', 'admin@example.com'],
      ],
    ],
    [
      'named in Connection',
      [
        ['Connection', 'keep-alive, X-User-ID'],
        ['X-User-ID', 'admin'],
      ],
    ],
  ];

  for (const [name, headers] of variants) {
    test(`${name}: the upstream sees only the gateway's identity`, async () => {
      const e = echoed(
        await send(gw.url, '/echo', { headers: [...headers, ['Authorization', `Bearer ${token}`]] }),
      );
      assert.deepEqual(identityLike(e), GATEWAY_SET);
    });

    test(`${name}: an anonymous request on a public route carries no identity at all`, async () => {
      const e = echoed(await send(gw.url, '/public', { headers }));
      assert.deepEqual(identityLike(e), []);
    });
  }

  test('as a trailer: the upstream receives no inbound trailer', async () => {
    const e = echoed(
      await send(gw.url, '/echo', {
        method: 'POST',
        headers: [
          ['Authorization', `Bearer ${token}`],
          ['Trailer', 'X-User-ID'],
        ],
        body: 'hello',
        trailers: [
          ['X-User-ID', 'admin'],
          ['X-User-Roles', 'admin'],
        ],
      }),
    );
    assert.equal(e.body, 'hello');
    assert.deepEqual(e.trailers, {});
    assert.deepEqual(identityLike(e), GATEWAY_SET);
    assert.equal(e.headers.trailer, undefined);
  });

  test('a spoofed identity from a trusted proxy is removed too', async () => {
    const e = echoed(
      await send(trustedGw.url, '/echo', {
        headers: [
          ['X-User-ID', 'admin'],
          ['Authorization', `Bearer ${token}`],
        ],
      }),
    );
    assert.deepEqual(identityLike(e), GATEWAY_SET);
  });
});

describe('hop-by-hop and forwarding headers', () => {
  test('headers named in Connection and hop-by-hop headers are dropped', async () => {
    const e = echoed(
      await send(gw.url, '/public', {
        headers: [
          ['Connection', 'keep-alive, X-Secret-Hop'],
          ['X-Secret-Hop', '1'],
          ['Keep-Alive', 'timeout=5'],
          ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
          ['TE', 'trailers'],
          ['X-Kept', 'yes'],
        ],
      }),
    );
    assert.equal(e.headers['x-secret-hop'], undefined);
    assert.equal(e.headers['keep-alive'], undefined);
    assert.equal(e.headers['proxy-authorization'], undefined);
    assert.equal(e.headers.te, undefined);
    assert.equal(e.headers['x-kept'], 'yes');
  });

  test('from an untrusted peer, X-Forwarded-*, Forwarded, X-Real-IP and X-Request-Id are replaced', async () => {
    const a = await send(gw.url, '/public', {
      headers: [
        ['X-Forwarded-For', '10.9.9.9'],
        ['X-Forwarded-Proto', 'https'],
        ['X-Forwarded-Host', 'evil.test'],
        ['X_Forwarded_For', '10.8.8.8'],
        ['Forwarded', 'for=10.7.7.7'],
        ['X-Real-IP', '10.6.6.6'],
        ['X-Request-Id', 'chosen-by-client-123'],
      ],
    });
    const e = echoed(a);
    assert.equal(e.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(e.headers['x-forwarded-proto'], 'http');
    assert.equal(e.headers['x-forwarded-host'], new URL(gw.url).host);
    assert.equal(e.headers.forwarded, undefined);
    assert.equal(e.headers['x-real-ip'], undefined);
    assert.equal(e.rawHeaders.filter(([n]) => canonicalHeaderName(n) === 'x-forwarded-for').length, 1);
    assert.notEqual(e.headers['x-request-id'], 'chosen-by-client-123');
    assert.equal(a.headers['x-request-id'], e.headers['x-request-id']);
  });

  test('from a trusted proxy, X-Forwarded-For is appended to and X-Request-Id kept', async () => {
    const e = echoed(
      await send(trustedGw.url, '/public', {
        headers: [
          ['X-Forwarded-For', '203.0.113.7'],
          ['X-Forwarded-Proto', 'https'],
          ['X-Forwarded-Host', 'shop.example.com'],
          ['X-Request-Id', 'req-from-edge-0001'],
        ],
      }),
    );
    assert.equal(e.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(e.headers['x-forwarded-proto'], 'https');
    assert.equal(e.headers['x-forwarded-host'], 'shop.example.com');
    assert.equal(e.headers['x-request-id'], 'req-from-edge-0001');
  });

  test('traceparent: a new trace from an untrusted peer, the same trace from a trusted one', async () => {
    const inbound = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const fresh = echoed(await send(gw.url, '/public', { headers: [['traceparent', inbound]] }));
    const kept = echoed(await send(trustedGw.url, '/public', { headers: [['traceparent', inbound]] }));
    const shape = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;
    assert.match(String(fresh.headers.traceparent), shape);
    assert.notEqual(String(fresh.headers.traceparent).slice(3, 35), '0af7651916cd43dd8448eb211c80319c');
    assert.match(String(kept.headers.traceparent), shape);
    assert.equal(String(kept.headers.traceparent).slice(3, 35), '0af7651916cd43dd8448eb211c80319c');
    assert.notEqual(String(kept.headers.traceparent).slice(36, 52), 'b7ad6b7169203331');
  });

  test('a malformed traceparent from a trusted proxy starts a new trace', async () => {
    const e = echoed(await send(trustedGw.url, '/public', { headers: [['traceparent', '00-zz-yy-01']] }));
    assert.match(String(e.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  test('the upstream gets the original Host', async () => {
    const e = echoed(await send(gw.url, '/public', { headers: [['Host', 'shop.example.com']] }));
    assert.equal(e.headers.host, 'shop.example.com');
  });
});

describe('X-Request-Id on every answer', () => {
  const requestIdShape = /^[0-9a-f-]{36}$/;

  test('a proxied answer, a refusal, an unknown path and an admin path each carry one', async () => {
    const proxied = await send(gw.url, '/public');
    const refused = await send(gw.url, '/echo');
    const unknown = await send(gw.url, '/nothing-here');
    const admin = await send(gw.url, '/_gatehouse/health/live');
    assert.deepEqual([proxied.status, refused.status, unknown.status, admin.status], [200, 401, 404, 200]);
    for (const a of [proxied, refused, unknown, admin]) {
      assert.match(String(a.headers['x-request-id']), requestIdShape);
    }
    assert.equal(proxied.headers['x-request-id'], echoed(proxied).headers['x-request-id']);
  });

  test('an answer the upstream could not give (503) carries one', async () => {
    const down = await startGateway(
      { routes: [{ id: 'down', match: { path: '/' }, upstreams: ['http://127.0.0.1:1'], policy: 'public' }] },
      { keys },
    );
    try {
      const a = await send(down.url, '/x');
      assert.equal(a.status >= 502 && a.status <= 504, true);
      assert.match(String(a.headers['x-request-id']), requestIdShape);
    } finally {
      await down.close();
    }
  });
});

describe("the upstream's answer headers as the client gets them", () => {
  const requestIdShape = /^[0-9a-f-]{36}$/;
  let answering: Server;
  let front: Harness;
  before(async () => {
    answering = createServer((req, res) => {
      if (req.url === '/cookies') res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      if (req.url === '/own-id') res.setHeader('x-request-id', 'upstream-id-0001');
      if (req.url === '/scoped-id') {
        res.setHeader('connection', 'keep-alive, x-request-id');
        res.setHeader('x-request-id', 'upstream-id-0002');
      }
      res.setHeader('x-kept', 'yes');
      res.end('ok');
    });
    answering.listen(0, '127.0.0.1');
    await once(answering, 'listening');
    const { port } = answering.address() as AddressInfo;
    front = await startGateway(
      {
        routes: [
          { id: 'a', match: { path: '/' }, upstreams: [`http://127.0.0.1:${port}`], policy: 'public' },
        ],
      },
      { keys },
    );
  });
  after(async () => {
    await front.close();
    await closeServer(answering);
  });

  test('a repeated header (two Set-Cookie) arrives as two headers', async () => {
    const a = await send(front.url, '/cookies');
    assert.equal(a.status, 200);
    assert.deepEqual(a.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    assert.equal(a.headers['x-kept'], 'yes');
    assert.match(String(a.headers['x-request-id']), requestIdShape);
  });

  test("the upstream's own X-Request-Id is kept, and sent once", async () => {
    const a = await send(front.url, '/own-id');
    assert.equal(a.headers['x-request-id'], 'upstream-id-0001');
  });

  test('an X-Request-Id the upstream names in Connection is dropped, and the gateway sends its own', async () => {
    const a = await send(front.url, '/scoped-id');
    assert.equal(a.status, 200);
    assert.match(String(a.headers['x-request-id']), requestIdShape);
    assert.equal(a.headers['x-kept'], 'yes');
  });
});
