import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '@gatehouse/core';
import { validateGatewayConfig } from '../src/validate-config.ts';

const route = { id: 'r', match: { path: '/r' }, upstreams: ['http://127.0.0.1:9000'] };

describe('gateway configuration schema', () => {
  test('defaults are filled in', () => {
    const c = validateGatewayConfig({ routes: [route] });
    assert.deepEqual(c.trustedProxies, []);
    assert.equal(c.trustedProxyDepth, 1);
    assert.deepEqual(c.auth, { algorithms: ['ES256'], sessionCookie: true });
    assert.deepEqual(c.forwardAuth, { enabled: true, path: '/_gatehouse/forward-auth' });
    assert.deepEqual(c.decision, { cacheTtlMs: 5000, timeoutMs: 1000 });
    assert.deepEqual(c.routes[0], {
      ...route,
      stripPrefix: false,
      timeoutMs: 30000,
      retries: 1,
      balance: 'round-robin',
      forwardToken: false,
      policy: 'authenticated',
    });
  });

  test('a route with several upstreams and no health check gets the default replica check', () => {
    const several = {
      ...route,
      id: 'several',
      upstreams: ['http://127.0.0.1:9000', 'http://127.0.0.1:9001'],
    };
    const c = validateGatewayConfig({ routes: [several, route] });
    assert.deepEqual(c.routes[0]!.healthCheck, {
      path: '/',
      intervalMs: 5000,
      timeoutMs: 2000,
      unhealthyThreshold: 2,
      healthyThreshold: 1,
      expect: 'answer',
    });
    assert.equal(c.routes[1]!.healthCheck, undefined, 'one upstream: nothing to move traffic to');
    const own = validateGatewayConfig({ routes: [{ ...several, healthCheck: { path: '/ready' } }] });
    assert.equal(own.routes[0]!.healthCheck!.path, '/ready');
    assert.equal(own.routes[0]!.healthCheck!.expect, 'success');
  });

  const refused: [string, unknown, RegExp][] = [
    ['an unknown top-level key', { rotues: [] }, /gateway\.rotues: unknown key/],
    [
      'an unknown route key',
      { routes: [{ ...route, polcy: 'public' }] },
      /gateway\.routes\.0\.polcy: unknown key/,
    ],
    ['a route without path or pattern', { routes: [{ ...route, match: {} }] }, /gateway\.routes\.0\.match/],
    [
      'an upstream that is not a URL',
      { routes: [{ ...route, upstreams: ['nope'] }] },
      /gateway\.routes\.0\.upstreams\.0/,
    ],
    ['an unknown policy', { routes: [{ ...route, policy: 'everyone' }] }, /gateway\.routes\.0\.policy/],
    ['an empty role list', { routes: [{ ...route, policy: { roles: [] } }] }, /gateway\.routes\.0\.policy/],
    [
      'a bad rate period',
      { routes: [{ ...route, rateLimit: { average: 1, period: 'soon', burst: 1 } }] },
      /period/,
    ],
    [
      'a forward-auth path outside /_gatehouse/',
      { forwardAuth: { path: '/auth' } },
      /gateway\.forwardAuth\.path/,
    ],
    ['a repeated route id', { routes: [route, route] }, /route id r is repeated/],
  ];
  for (const [name, section, problem] of refused) {
    test(`${name} is refused naming the key`, () => {
      assert.throws(
        () => validateGatewayConfig(section),
        (err: unknown) => err instanceof ConfigError && err.problems.some((p) => problem.test(p)),
      );
    });
  }
});
