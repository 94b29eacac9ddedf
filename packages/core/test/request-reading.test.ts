import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import {
  clientAddress,
  cookieValue,
  createTrustedProxies,
  escapeHtml,
  HOP_BY_HOP_HEADERS,
  readCookie,
  requestIsHttps,
  requestOrigin,
  withoutCookies,
} from '../src/index.ts';

function request(remoteAddress: string, headers: Record<string, string>): IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

describe('cookies', () => {
  it('reads one cookie, and reports a repeated name as ambiguous rather than picking one', () => {
    assert.deepEqual(readCookie('a=1; sid=xyz; b=2', 'sid'), { kind: 'one', value: 'xyz' });
    assert.deepEqual(readCookie(['a=1', 'sid=xyz'], 'sid'), { kind: 'one', value: 'xyz' });
    assert.deepEqual(readCookie('sid=1; sid=2', 'sid'), { kind: 'repeated' });
    assert.deepEqual(readCookie('xsid=1; sid', 'sid'), { kind: 'absent' });
    assert.deepEqual(readCookie(undefined, 'sid'), { kind: 'absent' });
    assert.equal(cookieValue('sid=1; sid=2', 'sid'), undefined);
    assert.equal(cookieValue(' sid = v ', 'sid'), 'v');
  });

  it('drops the named cookies and keeps the rest in order', () => {
    assert.equal(withoutCookies('a=1; sid=x; b=2', new Set(['sid'])), 'a=1; b=2');
    assert.equal(withoutCookies('sid=x', new Set(['sid'])), undefined);
    assert.equal(withoutCookies(['a=1', 'sid=x; c'], new Set(['sid'])), 'a=1; c');
  });
});

describe('escapeHtml', () => {
  it('escapes every character that can end a text node or an attribute, quoted or not', () => {
    assert.equal(
      escapeHtml(`<a href="x" onclick='y'>&\`=`),
      '&#60;a href&#61;&#34;x&#34; onclick&#61;&#39;y&#39;&#62;&#38;&#96;&#61;',
    );
    assert.equal(escapeHtml(undefined), '');
    assert.equal(escapeHtml(42), '42');
  });
});

describe('hop-by-hop headers', () => {
  it('lists the connection-scoped headers of RFC 9110 and nothing end to end', () => {
    for (const h of ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']) {
      assert.ok(HOP_BY_HOP_HEADERS.has(h), h);
    }
    for (const h of ['content-type', 'content-length', 'authorization', 'cookie']) {
      assert.ok(!HOP_BY_HOP_HEADERS.has(h), h);
    }
  });
});

describe('client address and scheme behind trusted proxies', () => {
  const proxies = createTrustedProxies(['10.0.0.1'], Number.MAX_SAFE_INTEGER);

  it('believes X-Forwarded-For and X-Forwarded-Proto only from a trusted peer', () => {
    const viaProxy = request('10.0.0.1', {
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'https',
      host: 'Login.Example.com',
    });
    assert.equal(clientAddress(viaProxy, proxies), '198.51.100.7');
    assert.equal(requestIsHttps(viaProxy, proxies), true);
    assert.equal(requestOrigin(viaProxy, proxies), 'https://login.example.com');

    const direct = request('203.0.113.9', {
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'https',
      host: 'a',
    });
    assert.equal(clientAddress(direct, proxies), '203.0.113.9');
    assert.equal(requestIsHttps(direct, proxies), false);
  });

  it('refuses a Host that is not a host name', () => {
    assert.equal(requestOrigin(request('10.0.0.1', { host: 'evil.com/path' }), proxies), undefined);
  });
});
