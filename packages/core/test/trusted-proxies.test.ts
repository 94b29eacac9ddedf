import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTrustedProxies } from '../src/trusted-proxies.ts';

describe('trusted proxies', () => {
  const proxies = createTrustedProxies(['10.0.0.0/8', '192.168.1.1', '::1/128'], 2);

  test('CIDRs, single addresses, IPv6 and IPv4-mapped addresses are matched', () => {
    assert.equal(proxies.isTrusted('10.1.2.3'), true);
    assert.equal(proxies.isTrusted('::ffff:10.1.2.3'), true);
    assert.equal(proxies.isTrusted('192.168.1.1'), true);
    assert.equal(proxies.isTrusted('192.168.1.2'), false);
    assert.equal(proxies.isTrusted('::1'), true);
    assert.equal(proxies.isTrusted('not-an-ip'), false);
    assert.equal(proxies.isTrusted(undefined), false);
  });

  test('X-Forwarded-For from an untrusted peer is ignored', () => {
    assert.equal(proxies.clientAddress('203.0.113.9', '1.2.3.4'), '203.0.113.9');
  });

  test('the client is the first untrusted hop from the right', () => {
    assert.equal(proxies.clientAddress('10.0.0.1', '198.51.100.7'), '198.51.100.7');
    assert.equal(proxies.clientAddress('10.0.0.1', '1.1.1.1, 198.51.100.7, 10.0.0.2'), '198.51.100.7');
  });

  test('no more trusted hops than the depth are skipped', () => {
    // depth 2: the peer and one more trusted hop; the next address is taken as the client.
    assert.equal(proxies.clientAddress('10.0.0.1', '198.51.100.7, 10.0.0.3, 10.0.0.2'), '10.0.0.3');
  });

  test('a spoofed left-most entry never wins over the hop a trusted proxy saw', () => {
    assert.equal(proxies.clientAddress('10.0.0.1', '127.0.0.1, 198.51.100.7'), '198.51.100.7');
  });

  test('with no depth limit (the identity provider behind the gateway) every trusted hop is skipped', () => {
    const idp = createTrustedProxies(['127.0.0.1', '::1'], Number.MAX_SAFE_INTEGER);
    assert.equal(idp.clientAddress('::ffff:127.0.0.1', '198.51.100.7, 127.0.0.1, ::1'), '198.51.100.7');
    assert.equal(idp.clientAddress('::1', '127.0.0.1'), '127.0.0.1');
    assert.equal(idp.clientAddress('203.0.113.9', '198.51.100.7'), '203.0.113.9');
  });

  test('a garbage entry falls back to the nearest known address', () => {
    assert.equal(proxies.clientAddress('10.0.0.1', 'garbage'), '10.0.0.1');
  });

  test('an invalid CIDR is refused at start-up', () => {
    assert.throws(() => createTrustedProxies(['bogus/8'], 1), {
      code: 'GH_CONFIG_INVALID',
      message: /bogus\/8 is not an IP address/,
    });
  });
});
