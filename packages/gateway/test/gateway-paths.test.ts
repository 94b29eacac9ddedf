import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
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
let keys: Keys;
let userToken: string;
let adminToken: string;

before(async () => {
  upstream = await startEcho();
  keys = await makeKeys();
  gw = await startGateway(
    {
      routes: [
        { id: 'home', match: { path: '/' }, upstreams: [upstream.url], policy: 'public' },
        { id: 'products', match: { path: '/products' }, upstreams: [upstream.url], policy: 'authenticated' },
        {
          id: 'products-admin',
          match: { path: '/products/admin' },
          upstreams: [upstream.url],
          policy: { roles: ['admin'] },
        },
        {
          id: 'api',
          match: { path: '/api' },
          upstreams: [`${upstream.url}/v2`],
          stripPrefix: true,
          policy: 'public',
        },
      ],
    },
    { keys },
  );
  userToken = await mintToken(keys, { roles: ['user'] });
  adminToken = await mintToken(keys, { roles: ['admin'] });
});

after(async () => {
  await gw.close();
  await upstream.close();
});

const as = (token: string): [string, string][] => [['Authorization', `Bearer ${token}`]];

/** Write a request byte for byte on a socket: for targets no HTTP client would send. */
function rawRequest(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

describe('path tricks never bypass the admin policy', () => {
  const tricks: [string, number, string][] = [
    ['/products/admin', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['//products/admin', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['/products//admin', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['/products/./admin', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['/products/x/../admin', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['/products/%61dmin', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['/products/%2e/admin', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['/products/admin/', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['/products/admin?as=user', 403, 'SDK_INSUFFICIENT_ROLE'],
    ['/PRODUCTS/admin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products/ADMIN', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products%2fadmin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products%2Fadmin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products/admin;x', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products;x/admin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products/admin/..;/', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products\\admin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products%5cadmin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products/%252e%252e/admin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products/%c0%ae%c0%ae/admin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/%2e%2e/', 400, 'GW_PATH_AMBIGUOUS'],
    ['/%2e%2e/products/admin', 400, 'GW_PATH_AMBIGUOUS'],
    ['/products/%00/admin', 400, 'GW_PATH_AMBIGUOUS'],
  ];
  for (const [path, status, code] of tricks) {
    test(`${path} as a user: ${status} ${code}`, async () => {
      const before = upstream.received.length;
      const a = await send(gw.url, path, { headers: as(userToken) });
      assert.equal(a.status, status, a.text);
      assert.equal(a.json().error, code);
      assert.equal(upstream.received.length, before, 'nothing reached the upstream');
    });
  }

  test('an absolute-form target is refused: 400 GW_PATH_AMBIGUOUS', async () => {
    const text = await rawRequest(gw.port, 'http://127.0.0.1/products/admin');
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /"error":"GW_PATH_AMBIGUOUS"/);
  });

  test('the query string never decides the policy', async () => {
    const a = await send(gw.url, '/products?path=/products/admin', { headers: as(userToken) });
    assert.equal(echoed(a).url, '/products?path=/products/admin');
  });
});

describe('the upstream receives the normalized path', () => {
  const cases: [string, string][] = [
    ['//products/admin', '/products/admin'],
    ['/products/./admin', '/products/admin'],
    ['/products/%61dmin/x?q=%2F..', '/products/admin/x?q=%2F..'],
    ['/products/x/../admin/', '/products/admin/'],
  ];
  for (const [sent, got] of cases) {
    test(`${sent} arrives as ${got}`, async () => {
      const e = echoed(await send(gw.url, sent, { headers: as(adminToken) }));
      assert.equal(e.url, got);
    });
  }

  test('stripPrefix forwards the rest under the upstream base path', async () => {
    const e = echoed(await send(gw.url, '/api//items/./7?x=1'));
    assert.equal(e.url, '/v2/items/7?x=1');
  });
});
