import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { identityHeaders, traceparentFor } from '../src/auth/identity-headers.ts';
import type { Principal } from '../src/contracts.ts';

const principal = (p: Partial<Principal>): Principal => ({
  kind: 'user',
  subject: 'alice',
  clientId: 'web',
  roles: [],
  scopes: [],
  audience: [],
  tokenId: 'j1',
  expiresAt: 0,
  claims: {},
  ...p,
});

describe('identity headers', () => {
  test('plain claims are passed as they are', () => {
    assert.deepEqual(
      identityHeaders(
        principal({ username: 'alice', roles: ['user', 'admin'], scopes: ['openid', 'orders:read'] }),
      ),
      {
        'x-user-id': 'alice',
        'x-user-name': 'alice',
        'x-user-roles': 'user,admin',
        'x-scopes': 'openid orders:read',
        'x-client-id': 'web',
      },
    );
  });

  test('a role containing the list separator cannot read as two roles', () => {
    assert.equal(identityHeaders(principal({ roles: ['user,admin'] }))['x-user-roles'], 'user%2Cadmin');
  });

  test('control and non-ASCII characters are percent-encoded, and distinct values stay distinct', () => {
    const h1 = identityHeaders(principal({ subject: 'jos\u00e9', username: 'a\r\nX-User-ID: admin' }));
    const h2 = identityHeaders(principal({ subject: 'jos\u00e8' }));
    assert.equal(h1['x-user-id'], 'jos%C3%A9');
    assert.equal(h2['x-user-id'], 'jos%C3%A8');
    assert.equal(h1['x-user-name'], 'a%0D%0AX-User-ID: admin');
    assert.equal(identityHeaders(principal({ subject: 'jos%C3%A9' }))['x-user-id'], 'jos%25C3%25A9');
  });

  test('a service principal without a username has no X-User-Name', () => {
    const h = identityHeaders(principal({ kind: 'service', subject: 'products', clientId: 'products' }));
    assert.equal(h['x-user-name'], undefined);
    assert.equal(h['x-client-id'], 'products');
  });
});

describe('traceparent', () => {
  test('a valid inbound trace keeps its trace id and flags with a new span id', () => {
    const t = traceparentFor('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
    assert.match(t, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    assert.notEqual(t.slice(36, 52), 'b7ad6b7169203331');
  });

  test('an all-zero trace id starts a new trace', () => {
    const t = traceparentFor('00-00000000000000000000000000000000-b7ad6b7169203331-01');
    assert.notEqual(t.slice(3, 35), '00000000000000000000000000000000');
  });

  test('new traces never share a trace or span id, and keep the inbound flags when there were some', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const t = traceparentFor(i % 2 ? undefined : '00-00000000000000000000000000000000-b7ad6b7169203331-00');
      assert.match(t, i % 2 ? /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/ : /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      ids.add(t.slice(3, 35));
      ids.add(t.slice(36, 52));
    }
    assert.equal(ids.size, 20_000);
  });
});
