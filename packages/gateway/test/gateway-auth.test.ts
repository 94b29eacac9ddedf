import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { REVOCATIONS_CHANNEL as REVOCATION_CHANNEL, revokedKey as revocationKey } from '@gatehouse/core';
import { waitFor } from '@gatehouse/core/testing';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import {
  AUDIENCE,
  echoed,
  type Harness,
  ISSUER,
  type Keys,
  makeKeys,
  mintSession,
  mintToken,
  nowSec,
  publicJwk,
  send,
  startEcho,
  startGateway,
  startJwks,
  type Upstream,
} from './harness.ts';

let upstream: Upstream;
let gw: Harness;
let keys: Keys;
let jwks: Awaited<ReturnType<typeof startJwks>>;

const bearer = (token: string): [string, string][] => [['Authorization', `Bearer ${token}`]];

before(async () => {
  upstream = await startEcho();
  keys = await makeKeys('key-1');
  jwks = await startJwks([await publicJwk(keys)]);
  gw = await startGateway(
    {
      routes: [
        { id: 'public', match: { path: '/public' }, upstreams: [upstream.url], policy: 'public' },
        { id: 'echo', match: { path: '/echo' }, upstreams: [upstream.url], policy: 'authenticated' },
        {
          id: 'token-echo',
          match: { path: '/token-echo' },
          upstreams: [upstream.url],
          policy: 'authenticated',
          forwardToken: true,
        },
        {
          id: 'admin',
          match: { path: '/products/admin' },
          upstreams: [upstream.url],
          policy: { roles: ['admin'] },
        },
        {
          id: 'orders',
          match: { path: '/orders' },
          upstreams: [upstream.url],
          policy: { scopes: ['orders:read'] },
        },
        { id: 'internal', match: { path: '/microservice' }, upstreams: [upstream.url], policy: 'internal' },
      ],
    },
    { keys, jwksUri: jwks.url },
  );
});

after(async () => {
  await gw.close();
  await upstream.close();
  await jwks.close();
});

describe('authentication errors are exact', () => {
  test('no credential: 401 SDK_TOKEN_MISSING with a bare Bearer challenge', async () => {
    const a = await send(gw.url, '/echo');
    assert.equal(a.status, 401);
    assert.equal(a.headers['www-authenticate'], 'Bearer realm="gatehouse"');
    assert.deepEqual(a.json(), { error: 'SDK_TOKEN_MISSING', message: 'No bearer token was presented' });
  });

  test('a garbage token: 401 with error="invalid_token"', async () => {
    const a = await send(gw.url, '/echo', { headers: bearer('not-a-jwt') });
    assert.equal(a.status, 401);
    assert.equal(
      a.headers['www-authenticate'],
      'Bearer realm="gatehouse", error="invalid_token", error_description="The token is not a compact JWS"',
    );
    assert.equal(a.json().error, 'SDK_TOKEN_MALFORMED');
  });

  test('another scheme than Bearer: 401 SDK_TOKEN_MALFORMED', async () => {
    const a = await send(gw.url, '/echo', { headers: [['Authorization', 'Basic YWxpY2U6c2VjcmV0']] });
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'SDK_TOKEN_MALFORMED');
    assert.match(String(a.headers['www-authenticate']), /^Bearer realm="gatehouse", error="invalid_token"/);
  });

  test('two Authorization headers: 400 GW_BAD_REQUEST', async () => {
    const t = await mintToken(keys);
    const a = await send(gw.url, '/echo', { headers: [...bearer(t), ...bearer('x.y.z')] });
    assert.equal(a.status, 400);
    assert.equal(a.json().error, 'GW_BAD_REQUEST');
  });

  test('a valid token passes and the upstream gets the identity', async () => {
    const t = await mintToken(keys, {
      sub: 'alice',
      username: 'alice',
      roles: ['user', 'buyer'],
      client_id: 'web',
    });
    const e = echoed(await send(gw.url, '/echo/x', { headers: bearer(t) }));
    assert.equal(e.url, '/echo/x');
    assert.equal(e.headers['x-user-id'], 'alice');
    assert.equal(e.headers['x-user-name'], 'alice');
    assert.equal(e.headers['x-user-roles'], 'user,buyer');
    assert.equal(e.headers['x-client-id'], 'web');
    assert.equal(e.headers['x-scopes'], 'openid products:read');
    assert.equal(e.headers.authorization, undefined);
  });
});

describe('rejected tokens, each with its code', () => {
  const unsigned = (header: Record<string, unknown>, payload: Record<string, unknown>) =>
    `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.`;
  const claims = () => ({
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'mallory',
    client_id: 'web',
    roles: ['admin'],
    jti: 'j-attack',
    iat: nowSec(),
    exp: nowSec() + 600,
  });

  const cases: [string, () => Promise<string>, string][] = [
    ['alg none', async () => unsigned({ alg: 'none', typ: 'at+jwt' }, claims()), 'SDK_ALG_NOT_ALLOWED'],
    ['alg None', async () => unsigned({ alg: 'None', typ: 'at+jwt' }, claims()), 'SDK_ALG_NOT_ALLOWED'],
    ['alg NONE', async () => unsigned({ alg: 'NONE', typ: 'at+jwt' }, claims()), 'SDK_ALG_NOT_ALLOWED'],
    ['alg nOnE', async () => unsigned({ alg: 'nOnE', typ: 'at+jwt' }, claims()), 'SDK_ALG_NOT_ALLOWED'],
    [
      'HS256 signed with the public key as the secret',
      async () => {
        const spki = await exportSPKI(keys.publicKey);
        const pub = createPublicKey(spki).export({ format: 'pem', type: 'spki' });
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: keys.kid })
          .sign(new TextEncoder().encode(String(pub)));
      },
      'SDK_ALG_NOT_ALLOWED',
    ],
    [
      'kid path traversal',
      async () => mintToken(await makeKeys('../../../../dev/null'), claims()),
      'SDK_KEY_UNKNOWN',
    ],
    ['kid injection', async () => mintToken(await makeKeys("x' OR '1'='1"), claims()), 'SDK_KEY_UNKNOWN'],
    [
      'jku header',
      async () => mintToken(keys, claims(), { jku: 'http://attacker.test/jwks' }),
      'SDK_HEADER_FORBIDDEN',
    ],
    [
      'x5u header',
      async () => mintToken(keys, claims(), { x5u: 'http://attacker.test/cert.pem' }),
      'SDK_HEADER_FORBIDDEN',
    ],
    [
      'embedded jwk header',
      async () => {
        const attacker = await generateKeyPair('ES256', { extractable: true });
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk: await exportJWK(attacker.publicKey) })
          .sign(attacker.privateKey);
      },
      'SDK_HEADER_FORBIDDEN',
    ],
    [
      'expired beyond the 60 s skew',
      async () => mintToken(keys, { exp: nowSec() - 120 }),
      'SDK_TOKEN_EXPIRED',
    ],
    ['not yet valid', async () => mintToken(keys, { nbf: nowSec() + 120 }), 'SDK_TOKEN_NOT_YET_VALID'],
    ['wrong iss', async () => mintToken(keys, { iss: 'http://evil.test/auth' }), 'SDK_ISSUER_INVALID'],
    ['wrong aud', async () => mintToken(keys, { aud: 'http://other.test' }), 'SDK_AUDIENCE_INVALID'],
    [
      'an ID token',
      async () =>
        new SignJWT({ ...claims(), aud: AUDIENCE })
          .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: keys.kid })
          .sign(keys.privateKey),
      'SDK_TOKEN_TYPE_INVALID',
    ],
    [
      'a token signed by another key with our kid',
      async () => mintToken(await makeKeys('key-1'), claims()),
      'SDK_SIGNATURE_INVALID',
    ],
    ['a truncated token', async () => (await mintToken(keys)).slice(0, -10), 'SDK_SIGNATURE_INVALID'],
    ['a padded token', async () => `${await mintToken(keys)}==`, 'SDK_TOKEN_MALFORMED'],
    ['a 10 KB token', async () => mintToken(keys, { pad: 'x'.repeat(10_000) }), 'SDK_TOKEN_TOO_LARGE'],
  ];

  for (const [name, make, code] of cases) {
    test(`${name}: 401 ${code}`, async () => {
      const a = await send(gw.url, '/echo', { headers: bearer(await make()) });
      assert.equal(a.status, 401, a.text);
      assert.equal(a.json().error, code);
      assert.match(String(a.headers['www-authenticate']), /^Bearer realm="gatehouse", error="invalid_token"/);
      assert.equal(upstream.received.filter((e) => e.headers['x-user-id'] === 'mallory').length, 0);
    });
  }

  test('a 100 KB token: 431 GW_HEADERS_TOO_LARGE before the token is read', async () => {
    const a = await send(gw.url, '/echo', {
      headers: bearer(await mintToken(keys, { pad: 'x'.repeat(100_000) })),
    });
    assert.equal(a.status, 431);
    assert.equal(a.json().error, 'GW_HEADERS_TOO_LARGE');
  });

  test('a token expired by less than the 60 s skew is still accepted', async () => {
    const a = await send(gw.url, '/echo', { headers: bearer(await mintToken(keys, { exp: nowSec() - 20 })) });
    assert.equal(a.status, 200);
  });
});

describe('policies', () => {
  test('a missing role: 403 SDK_INSUFFICIENT_ROLE', async () => {
    const a = await send(gw.url, '/products/admin', {
      headers: bearer(await mintToken(keys, { roles: ['user'] })),
    });
    assert.equal(a.status, 403);
    assert.equal(a.json().error, 'SDK_INSUFFICIENT_ROLE');
    assert.equal(
      a.headers['www-authenticate'],
      'Bearer realm="gatehouse", error="insufficient_scope", error_description="One of these roles is required: admin"',
    );
  });

  test('the role present: 200', async () => {
    const a = await send(gw.url, '/products/admin', {
      headers: bearer(await mintToken(keys, { roles: ['admin'] })),
    });
    assert.equal(echoed(a).headers['x-user-roles'], 'admin');
  });

  test('a missing scope: 403 SDK_INSUFFICIENT_SCOPE naming the scope', async () => {
    const a = await send(gw.url, '/orders', { headers: bearer(await mintToken(keys, { scope: 'openid' })) });
    assert.equal(a.status, 403);
    assert.equal(a.json().error, 'SDK_INSUFFICIENT_SCOPE');
    assert.equal(
      a.headers['www-authenticate'],
      'Bearer realm="gatehouse", error="insufficient_scope", error_description="The token lacks a required scope", scope="orders:read"',
    );
  });

  test('the scope present: 200', async () => {
    const a = await send(gw.url, '/orders', {
      headers: bearer(await mintToken(keys, { scope: 'orders:read' })),
    });
    assert.equal(a.status, 200);
  });

  test('no credential on a role route: 401, not 403', async () => {
    const a = await send(gw.url, '/products/admin');
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'SDK_TOKEN_MISSING');
  });

  test('an internal route is 404 GW_NOT_FOUND from outside, even with a valid token', async () => {
    const a = await send(gw.url, '/microservice/orders/add', {
      method: 'POST',
      headers: bearer(await mintToken(keys, { roles: ['admin'] })),
    });
    assert.equal(a.status, 404);
    assert.equal(a.json().error, 'GW_NOT_FOUND');
  });

  test('no route: 404 GW_NOT_FOUND', async () => {
    const a = await send(gw.url, '/nowhere');
    assert.equal(a.status, 404);
    assert.deepEqual(a.json(), { error: 'GW_NOT_FOUND', message: 'No route matches this request' });
  });

  test('a public route ignores a bad token and passes no identity', async () => {
    const e = echoed(await send(gw.url, '/public', { headers: bearer('bad.token.here') }));
    assert.equal(e.headers['x-user-id'], undefined);
  });

  test('a public route passes the identity of a good token', async () => {
    const e = echoed(await send(gw.url, '/public', { headers: bearer(await mintToken(keys)) }));
    assert.equal(e.headers['x-user-id'], 'alice');
  });
});

describe('session cookie and token forwarding', () => {
  test('the session cookie authenticates, and the upstream never sees it', async () => {
    const session = await mintSession(keys);
    const e = echoed(
      await send(gw.url, '/echo', {
        headers: [['Cookie', `theme=dark; gatehouse_session=${session}; lang=en`]],
      }),
    );
    assert.equal(e.headers['x-user-id'], 'bob');
    assert.equal(e.headers['x-user-name'], 'bob');
    assert.equal(e.headers.cookie, 'theme=dark; lang=en');
  });

  test('an access token in the session cookie is refused: 401 SDK_TOKEN_TYPE_INVALID', async () => {
    const a = await send(gw.url, '/echo', {
      headers: [['Cookie', `gatehouse_session=${await mintToken(keys)}`]],
    });
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'SDK_TOKEN_TYPE_INVALID');
  });

  test('a session token as a bearer token is refused', async () => {
    const a = await send(gw.url, '/echo', { headers: bearer(await mintSession(keys)) });
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'SDK_TOKEN_TYPE_INVALID');
  });

  test('two session cookies are refused as malformed', async () => {
    const s = await mintSession(keys);
    const a = await send(gw.url, '/echo', {
      headers: [['Cookie', `gatehouse_session=${s}; gatehouse_session=${s}`]],
    });
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'SDK_TOKEN_MALFORMED');
  });

  test('forwardToken passes the original Authorization header', async () => {
    const t = await mintToken(keys);
    const e = echoed(await send(gw.url, '/token-echo', { headers: bearer(t) }));
    assert.equal(e.headers.authorization, `Bearer ${t}`);
  });
});

describe('revocation', () => {
  test('a revocation published on the state stops a token already in use', async () => {
    const t = await mintToken(keys, { jti: 'to-revoke-1' });
    assert.equal((await send(gw.url, '/echo', { headers: bearer(t) })).status, 200);
    await gw.state.publish(
      REVOCATION_CHANNEL,
      JSON.stringify({ kind: 'jti', value: 'to-revoke-1', expiresAt: nowSec() + 600 }),
    );
    await waitFor(async () => (await send(gw.url, '/echo', { headers: bearer(t) })).status === 401);
    const a = await send(gw.url, '/echo', { headers: bearer(t) });
    assert.equal(a.json().error, 'SDK_TOKEN_REVOKED');
  });

  test('a revoked session id stops every token of that session', async () => {
    const t1 = await mintToken(keys, { sid: 'sess-to-revoke' });
    const t2 = await mintToken(keys, { sid: 'sess-to-revoke' });
    assert.equal((await send(gw.url, '/echo', { headers: bearer(t1) })).status, 200);
    await gw.state.publish(
      REVOCATION_CHANNEL,
      JSON.stringify({ kind: 'sid', value: 'sess-to-revoke', expiresAt: nowSec() + 600 }),
    );
    await waitFor(async () => (await send(gw.url, '/echo', { headers: bearer(t1) })).status === 401);
    assert.equal((await send(gw.url, '/echo', { headers: bearer(t2) })).json().error, 'SDK_TOKEN_REVOKED');
  });

  test('a token revoked in the state before this gateway saw it is refused the first time', async () => {
    await gw.state.set(revocationKey('jti', 'revoked-earlier'), '1', 60_000);
    const a = await send(gw.url, '/echo', {
      headers: bearer(await mintToken(keys, { jti: 'revoked-earlier' })),
    });
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'SDK_TOKEN_REVOKED');
  });

  test('a malformed revocation message changes nothing', async () => {
    const t = await mintToken(keys, { jti: 'keep-me' });
    await gw.state.publish(REVOCATION_CHANNEL, '{"kind":"everything","value":"*"}');
    await gw.state.publish(REVOCATION_CHANNEL, 'not json');
    assert.equal((await send(gw.url, '/echo', { headers: bearer(t) })).status, 200);
  });
});

describe('JWKS', () => {
  test('an unknown kid refetches the JWKS once, then the cooldown holds', async () => {
    const before = jwks.fetches();
    const stranger = await makeKeys('unknown-kid');
    for (let i = 0; i < 3; i++) {
      const a = await send(gw.url, '/echo', { headers: bearer(await mintToken(stranger)) });
      assert.equal(a.json().error, 'SDK_KEY_UNKNOWN');
    }
    assert.ok(jwks.fetches() - before <= 1, `fetched ${jwks.fetches() - before} times`);
  });
});
