import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sanitizeHeaders } from '../src/upstreams/header-sanitize.ts';

describe('header sanitizing', () => {
  test('identity headers in any spelling are removed; other headers keep their values', () => {
    const r = sanitizeHeaders(
      [
        'X-User-ID',
        'a',
        'x_user_roles',
        'b',
        'X.Scopes',
        'c',
        'X-Client-Id',
        'd',
        'X-Gatehouse-Anything',
        'e',
        'Accept',
        'json',
      ],
      false,
    );
    assert.deepEqual(r.headers, { accept: 'json' });
  });

  test('repeated end-to-end headers are kept as a list', () => {
    const r = sanitizeHeaders(['Accept-Language', 'en', 'accept-language', 'fr'], false);
    assert.deepEqual(r.headers, { 'accept-language': ['en', 'fr'] });
  });

  test('headers named in Connection are removed, in any spelling', () => {
    const r = sanitizeHeaders(
      ['Connection', 'close, X-Debug', 'x_debug', '1', 'X-Debug', '1', 'Keep', 'yes'],
      false,
    );
    assert.deepEqual(r.headers, { keep: 'yes' });
  });

  test('hop-by-hop headers spelled with _ or . are removed too', () => {
    const r = sanitizeHeaders(
      ['Proxy_Authorization', 'Basic x', 'Transfer.Encoding', 'chunked', 'Keep_Alive', '1'],
      false,
    );
    assert.deepEqual(r.headers, {});
  });

  test('Authorization and Cookie are set aside, never among the headers passed on', () => {
    const r = sanitizeHeaders(
      ['Authorization', 'Bearer t', 'Cookie', 'a=1', 'cookie', 'b=2', 'Accept', 'json'],
      false,
    );
    assert.deepEqual(r.headers, { accept: 'json' });
    assert.deepEqual(r.credentials, { authorization: 'Bearer t', cookie: ['a=1', 'b=2'] });
    assert.deepEqual(sanitizeHeaders(['Accept', 'json'], false).credentials, {});
  });

  test('a repeated Host, Authorization or Content-Length is reported', () => {
    assert.equal(sanitizeHeaders(['Host', 'a', 'host', 'b'], false).repeatedSingleton, 'host');
    assert.equal(
      sanitizeHeaders(['Authorization', 'a', 'Authorization', 'b'], false).repeatedSingleton,
      'authorization',
    );
    assert.equal(sanitizeHeaders(['Accept', 'a', 'Accept', 'b'], false).repeatedSingleton, undefined);
  });

  test('forwarding headers are read only from a trusted peer, and never passed on as they came', () => {
    const raw = [
      'X-Forwarded-For',
      '1.1.1.1',
      'X-Forwarded-Proto',
      'https',
      'X-Request-Id',
      'edge-request-1',
      'traceparent',
      'tp',
    ];
    const untrusted = sanitizeHeaders(raw, false);
    assert.deepEqual(untrusted.forwarded, {});
    assert.deepEqual(untrusted.headers, {});
    const trusted = sanitizeHeaders(raw, true);
    assert.deepEqual(trusted.forwarded, {
      for: '1.1.1.1',
      proto: 'https',
      requestId: 'edge-request-1',
      traceparent: 'tp',
    });
    assert.deepEqual(trusted.headers, {});
  });
});
