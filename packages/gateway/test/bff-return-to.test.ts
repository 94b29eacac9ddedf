import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { safeReturnTo } from '../src/bff/return-to.ts';

describe('return_to after a BFF login', () => {
  const accepted: [string | undefined, string][] = [
    [undefined, '/'],
    ['', '/'],
    ['/', '/'],
    ['/app/orders?page=2#top', '/app/orders?page=2#top'],
    ['/app/../admin', '/admin'],
  ];
  for (const [value, expected] of accepted) {
    test(`${JSON.stringify(value)} returns to ${expected}`, () => {
      assert.equal(safeReturnTo(value), expected);
    });
  }

  const refused = [
    'https://evil.example/',
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/%2f%2fevil.example',
    '/%5Cevil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    ' /app',
    'javascript:alert(1)',
    'app',
    `/${'a'.repeat(2048)}`,
  ];
  for (const value of refused) {
    test(`${JSON.stringify(value)} is refused`, () => {
      assert.equal(safeReturnTo(value), undefined);
    });
  }
});
