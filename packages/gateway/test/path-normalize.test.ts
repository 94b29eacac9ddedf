import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizePath, normalizeRequestTarget } from '../src/routing/path-normalize.ts';

describe('path normalization', () => {
  const normalized: [string, string, string][] = [
    ['/products/admin', '/products/admin', ''],
    ['//products/admin', '/products/admin', ''],
    ['/products//admin', '/products/admin', ''],
    ['/products/./admin', '/products/admin', ''],
    ['/products/x/../admin', '/products/admin', ''],
    ['/products/%61dmin', '/products/admin', ''],
    ['/products/%2e/admin', '/products/admin', ''],
    ['/products/%7Eu', '/products/~u', ''],
    ['/a%20b', '/a%20b', ''],
    ['/a%3ab', '/a%3Ab', ''],
    ['/caf%c3%a9', '/caf%C3%A9', ''],
    ['/products/admin/', '/products/admin/', ''],
    ['/products/admin/.', '/products/admin/', ''],
    ['/products/admin/x/..', '/products/admin/', ''],
    ['/', '/', ''],
    ['/search?q=a%2Fb&x=..', '/search', 'q=a%2Fb&x=..'],
    ['/products?role=admin', '/products', 'role=admin'],
  ];
  for (const [input, path, query] of normalized) {
    test(`${input} becomes ${path}${query ? `?${query}` : ''}`, () => {
      assert.deepEqual(normalizeRequestTarget(input), { ok: true, path, query });
    });
  }

  const refused: [string, RegExp][] = [
    ['/products%2fadmin', /encoded slash/],
    ['/products%2Fadmin', /encoded slash/],
    ['/products%5cadmin', /encoded slash or backslash/],
    ['/products\\admin', /not allowed/],
    ['/products/admin;x', /not allowed/],
    ['/products/admin/..;/', /not allowed/],
    ['/products/admin%3bx', /path parameter/],
    ['/%2e%2e/', /above the root/],
    ['/../etc/passwd', /above the root/],
    ['/products/../../x', /above the root/],
    ['/products/%252e%252e/admin', /double percent-encoding/],
    ['/products/%00admin', /control/],
    ['/products/%0d%0aX-User-ID:1', /control/],
    ['/products/%c0%ae%c0%ae/admin', /UTF-8/],
    ['/products/%e0%80%af', /UTF-8/],
    ['/products/%ff', /UTF-8/],
    ['/products/%zz', /malformed/],
    ['/products/%4', /malformed/],
    ['/products/\u00e9', /not allowed/],
    ['/products/a b', /not allowed/],
    ['http://evil/products', /absolute path/],
    ['*', /absolute path/],
    ['/a?b\u0001', /query/],
  ];
  for (const [input, reason] of refused) {
    test(`${JSON.stringify(input)} is refused as ambiguous`, () => {
      const r = normalizeRequestTarget(input);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, reason);
    });
  }

  test('the shortcut for plain paths answers as the full walk does', () => {
    // Random paths over the characters that matter (separators, dots, escapes, refused ones).
    const alphabet = ['/', '/', '.', '.', 'a', 'B', '~', '-', '%', '2', 'e', 'F', ';', '\\', ' ', '\u00e9'];
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (let i = 0; i < 20_000; i++) {
      let path = '/';
      const length = next() % 12;
      for (let j = 0; j < length; j++) path += alphabet[next() % alphabet.length];
      assert.deepEqual(normalizeRequestTarget(path), normalizePath(path, ''), path);
    }
    for (const path of ['/', '/a', '/a/', '/a/b', '/.a', '/..a', '/a.', '/a/.b/', '/x/..', '/x/.', '//']) {
      assert.deepEqual(normalizeRequestTarget(path), normalizePath(path, ''), path);
    }
  });
});
