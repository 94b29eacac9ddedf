import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRouter } from '../src/routing/router.ts';
import { validateGatewayConfig } from '../src/validate-config.ts';

const config = validateGatewayConfig({
  routes: [
    { id: 'catch-all', match: { path: '/' }, upstreams: ['http://127.0.0.1:1'], policy: 'public' },
    { id: 'products', match: { path: '/products' }, upstreams: ['http://127.0.0.1:1'] },
    {
      id: 'admin',
      match: { path: '/products/admin' },
      upstreams: ['http://127.0.0.1:1'],
      policy: { roles: ['admin'] },
    },
    {
      id: 'buy',
      match: { pattern: '/products/{id}/buy', methods: ['POST'] },
      upstreams: ['http://127.0.0.1:1'],
    },
    {
      id: 'api',
      match: { path: '/api', host: 'api.example.com' },
      upstreams: ['http://127.0.0.1:1'],
      stripPrefix: true,
    },
    { id: 'files', match: { pattern: '/files/*' }, upstreams: ['http://127.0.0.1:1'] },
  ],
});
const router = createRouter(config.routes);

function routeOf(host: string | undefined, method: string, path: string): string {
  const r = router.find(host, method, path);
  return r.kind === 'match' ? r.match.route.id : r.kind;
}

describe('router', () => {
  test('the most specific prefix wins even when a broader route is listed first', () => {
    assert.equal(routeOf(undefined, 'GET', '/products/admin'), 'admin');
    assert.equal(routeOf(undefined, 'GET', '/products/admin/users'), 'admin');
    assert.equal(routeOf(undefined, 'GET', '/products/1'), 'products');
    assert.equal(routeOf(undefined, 'GET', '/other'), 'catch-all');
  });

  test('prefixes match whole segments only', () => {
    assert.equal(routeOf(undefined, 'GET', '/productsx'), 'catch-all');
    assert.equal(routeOf(undefined, 'GET', '/products/adminx'), 'products');
  });

  test('a pattern binds its parameters and honours its methods', () => {
    const r = router.find(undefined, 'POST', '/products/42/buy');
    assert.equal(r.kind, 'match');
    if (r.kind !== 'match') return;
    assert.equal(r.match.route.id, 'buy');
    assert.deepEqual(r.match.params, { id: '42' });
    assert.equal(routeOf(undefined, 'GET', '/products/42/buy'), 'products');
  });

  test('a GET route covers HEAD', () => {
    const r = createRouter(
      validateGatewayConfig({
        routes: [
          { id: 'all', match: { path: '/' }, upstreams: ['http://127.0.0.1:1'] },
          { id: 'get-only', match: { path: '/report', methods: ['GET'] }, upstreams: ['http://127.0.0.1:1'] },
        ],
      }).routes,
    );
    const found = r.find(undefined, 'HEAD', '/report');
    assert.equal(found.kind === 'match' && found.match.route.id, 'get-only');
  });

  test('a literal segment beats a parameter at the same depth', () => {
    assert.equal(routeOf(undefined, 'POST', '/products/admin/buy'), 'admin');
  });

  test('a host route wins for its host only, compared without port or case', () => {
    assert.equal(routeOf('API.example.com:8443', 'GET', '/api/v1'), 'api');
    assert.equal(routeOf('other.example.com', 'GET', '/api/v1'), 'catch-all');
    assert.equal(routeOf('api.example.com.', 'GET', '/api/v1'), 'api');
  });

  test('stripPrefix removes the matched prefix from the upstream path', () => {
    const r = router.find('api.example.com', 'GET', '/api/v1/items/');
    assert.equal(r.kind === 'match' && r.match.upstreamPath, '/v1/items/');
    const root = router.find('api.example.com', 'GET', '/api');
    assert.equal(root.kind === 'match' && root.match.upstreamPath, '/');
  });

  test('a trailing star in a pattern matches the rest of the path', () => {
    assert.equal(routeOf(undefined, 'GET', '/files/a/b/c'), 'files');
  });

  test('a path that picks another route when case is ignored is a case conflict', () => {
    assert.equal(routeOf(undefined, 'GET', '/PRODUCTS/admin'), 'case-conflict');
    assert.equal(routeOf(undefined, 'GET', '/products/ADMIN'), 'case-conflict');
    assert.equal(routeOf(undefined, 'GET', '/Products/Admin/x'), 'case-conflict');
  });

  test('a path that picks the same route either way is served', () => {
    assert.equal(routeOf(undefined, 'GET', '/products/Item-7'), 'products');
    assert.equal(routeOf(undefined, 'GET', '/Other'), 'catch-all');
  });

  test('no route at all is none', () => {
    const empty = createRouter([]);
    assert.deepEqual(empty.find(undefined, 'GET', '/x'), { kind: 'none' });
  });
});
