import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { importJWK } from 'jose';
import {
  createVerifier,
  type Principal,
  parseBearer,
  SdkError,
  sdkErrorCatalog,
  type Verifier,
} from '../src/index.ts';
import { makeKey, nowSec, rawToken, startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

let idp: TestIssuer;

before(async () => {
  idp = await startTestIssuer();
});
after(() => idp.close());

function verifierFor(extra: Partial<Parameters<typeof createVerifier>[0]> = {}): Verifier {
  return createVerifier({ issuer: idp.issuer, audiences: ['orders'], ...extra });
}

async function rejectsWith(promise: Promise<unknown>, code: string, status = 401): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SdkError, `expected SdkError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected ${code}, but the token was accepted`);
}

function hs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string): string {
  const unsigned = rawToken(header, payload).slice(0, -1);
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

function validClaims(): Record<string, unknown> {
  const now = nowSec();
  return {
    iss: idp.issuer,
    sub: 'user-1',
    aud: 'orders',
    client_id: 'web',
    jti: 'jti-forged',
    iat: now,
    exp: now + 300,
  };
}

describe('refused tokens', () => {
  let verifier: Verifier;
  before(() => {
    // A long cooldown: hostile kids must never cause a refetch, however slow the machine.
    verifier = verifierFor({ jwksCooldownMs: 600_000 });
  });

  const cases: Array<{ name: string; token: () => Promise<string> | string; code: string }> = [
    ...['none', 'None', 'NONE', 'nOnE'].flatMap((alg) => [
      {
        name: `alg "${alg}" without a signature`,
        token: () => rawToken({ alg, typ: 'at+jwt', kid: 'key-1' }, validClaims()),
        code: 'SDK_ALG_NOT_ALLOWED',
      },
      {
        name: `alg "${alg}" with a junk signature`,
        token: () => rawToken({ alg, typ: 'at+jwt' }, validClaims(), 'c2lnbmF0dXJl'),
        code: 'SDK_ALG_NOT_ALLOWED',
      },
    ]),
    {
      name: 'HS256 signed with the public key PEM as the HMAC secret',
      token: () => hs256({ alg: 'HS256', typ: 'at+jwt', kid: 'key-1' }, validClaims(), idp.key.publicPem),
      code: 'SDK_ALG_NOT_ALLOWED',
    },
    {
      name: 'HS256 signed with the public JWK as the HMAC secret',
      token: () =>
        hs256(
          { alg: 'HS256', typ: 'at+jwt', kid: 'key-1' },
          validClaims(),
          JSON.stringify(idp.key.publicJwk),
        ),
      code: 'SDK_ALG_NOT_ALLOWED',
    },
    {
      name: 'a kid that is a path traversal',
      token: () => idp.sign({}, { kid: '../../etc/passwd' }),
      code: 'SDK_KEY_UNKNOWN',
    },
    {
      name: 'a kid that is an SQL injection',
      token: () => idp.sign({}, { kid: "' OR 1=1 --" }),
      code: 'SDK_KEY_UNKNOWN',
    },
    {
      name: 'a very long kid',
      token: () => idp.sign({}, { kid: 'k'.repeat(5000) }),
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a kid that is not a string',
      token: () => idp.sign({}, { kid: 42 }),
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a jku header',
      token: () => idp.sign({}, { jku: 'https://attacker.example/jwks' }),
      code: 'SDK_HEADER_FORBIDDEN',
    },
    {
      name: 'an x5u header',
      token: () => idp.sign({}, { x5u: 'https://attacker.example/cert.pem' }),
      code: 'SDK_HEADER_FORBIDDEN',
    },
    {
      name: 'a jwk header',
      token: () => idp.sign({}, { jwk: idp.key.publicJwk }),
      code: 'SDK_HEADER_FORBIDDEN',
    },
    { name: 'an x5c header', token: () => idp.sign({}, { x5c: ['MIIB'] }), code: 'SDK_HEADER_FORBIDDEN' },
    { name: 'an expired token', token: () => idp.sign({ exp: nowSec() - 120 }), code: 'SDK_TOKEN_EXPIRED' },
    {
      name: 'a token whose nbf is in the future',
      token: () => idp.sign({ nbf: nowSec() + 120 }),
      code: 'SDK_TOKEN_NOT_YET_VALID',
    },
    {
      name: 'a token issued in the future',
      token: () => idp.sign({ iat: nowSec() + 120 }),
      code: 'SDK_TOKEN_NOT_YET_VALID',
    },
    { name: 'a token without exp', token: () => idp.sign({ exp: undefined }), code: 'SDK_CLAIMS_INVALID' },
    {
      name: 'a token whose exp is a string',
      token: () => idp.sign({ exp: 'tomorrow' }),
      code: 'SDK_CLAIM_TIME_INVALID',
    },
    {
      name: 'a token whose iat is a string',
      token: () => idp.sign({ iat: 'now' }),
      code: 'SDK_CLAIM_TIME_INVALID',
    },
    {
      name: 'a wrong issuer',
      token: () => idp.sign({ iss: 'http://127.0.0.1:1/auth' }),
      code: 'SDK_ISSUER_INVALID',
    },
    {
      name: 'an issuer differing only by a trailing slash',
      token: () => idp.sign({ iss: `${idp.issuer}/` }),
      code: 'SDK_ISSUER_INVALID',
    },
    { name: 'a wrong audience', token: () => idp.sign({ aud: 'payments' }), code: 'SDK_AUDIENCE_INVALID' },
    {
      name: 'an ID token (typ JWT)',
      token: () => idp.sign({}, { typ: 'JWT' }),
      code: 'SDK_TOKEN_TYPE_INVALID',
    },
    {
      name: 'a token without typ',
      token: () => idp.sign({}, { typ: undefined }),
      code: 'SDK_TOKEN_TYPE_INVALID',
    },
    {
      name: 'a session token at the access-token check',
      token: () => idp.sign({ aud: 'orders' }, { typ: 'gh-session+jwt' }),
      code: 'SDK_TOKEN_TYPE_INVALID',
    },
    { name: 'a token without jti', token: () => idp.sign({ jti: undefined }), code: 'SDK_CLAIMS_INVALID' },
    {
      name: 'a token without client_id',
      token: () => idp.sign({ client_id: undefined }),
      code: 'SDK_CLAIMS_INVALID',
    },
    {
      name: 'roles that are not a list',
      token: () => idp.sign({ roles: 'admin' }),
      code: 'SDK_CLAIMS_INVALID',
    },
    {
      name: 'a token signed by an unknown key with a known kid',
      token: async () => idp.sign({}, {}, { ...(await makeKey('key-1')) }),
      code: 'SDK_SIGNATURE_INVALID',
    },
    {
      name: 'a token truncated inside its signature',
      token: async () => (await idp.sign()).slice(0, -10),
      code: 'SDK_SIGNATURE_INVALID',
    },
    {
      name: 'a token truncated to half its length',
      token: async () => {
        const t = await idp.sign();
        return t.slice(0, t.indexOf('.') + 5);
      },
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a token with its payload altered',
      token: async () => {
        const [h, , s] = (await idp.sign()).split('.');
        const forged = Buffer.from(JSON.stringify({ ...validClaims(), roles: ['admin'] })).toString(
          'base64url',
        );
        return `${h}.${forged}.${s}`;
      },
      code: 'SDK_SIGNATURE_INVALID',
    },
    {
      name: 'a token padded with "="',
      token: async () => `${await idp.sign()}==`,
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a token with a leading space',
      token: async () => ` ${await idp.sign()}`,
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a token with a trailing newline',
      token: async () => `${await idp.sign()}\n`,
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a token with a fourth segment',
      token: async () => `${await idp.sign()}.AAAA`,
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a header that is not JSON',
      token: async () => `bm90IGpzb24.${(await idp.sign()).split('.').slice(1).join('.')}`,
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a 100 KB token',
      token: () => `${'A'.repeat(100 * 1024)}.e30.AAAA`,
      code: 'SDK_TOKEN_TOO_LARGE',
    },
    { name: 'an empty token', token: () => '', code: 'SDK_TOKEN_MISSING' },
  ];

  for (const c of cases) {
    it(`refuses ${c.name} with ${c.code}`, async () => {
      const err = await rejectsWith(verifier.verifyAccessToken(await c.token()), c.code);
      if (c.code !== 'SDK_TOKEN_MISSING') {
        assert.match(
          err.headers?.['www-authenticate'] ?? '',
          /^Bearer error="invalid_token", error_description="[^"]+"$/,
        );
      }
    });
  }

  it('never fetched more than the one initial JWKS for all of them', () => {
    assert.equal(idp.requests, 1);
  });
});

describe('accepted tokens', () => {
  it('accepts a valid user access token and returns the principal exactly', async () => {
    const now = nowSec();
    const claims = {
      iss: idp.issuer,
      sub: 'user-1',
      aud: ['orders', 'other'],
      client_id: 'web',
      scope: 'openid orders:read',
      roles: ['customer'],
      jti: 'jti-valid',
      sid: 'session-1',
      username: 'alice',
      iat: now,
      exp: now + 300,
    };
    const principal = await verifierFor().verifyAccessToken(await idp.sign(claims));
    const expected: Principal = {
      kind: 'user',
      subject: 'user-1',
      clientId: 'web',
      username: 'alice',
      roles: ['customer'],
      scopes: ['openid', 'orders:read'],
      audience: ['orders', 'other'],
      sessionId: 'session-1',
      tokenId: 'jti-valid',
      expiresAt: now + 300,
      claims,
    };
    assert.deepEqual(principal, expected);
    assert.ok(Object.isFrozen(principal));
  });

  it('accepts a service token and marks it as a service', async () => {
    const token = await idp.sign({
      sub: 'products',
      client_id: 'products',
      sid: undefined,
      username: undefined,
      scope: 'orders:add',
      roles: [],
    });
    const principal = await verifierFor().verifyAccessToken(token);
    assert.equal(principal.kind, 'service');
    assert.equal(principal.subject, 'products');
    assert.deepEqual(principal.scopes, ['orders:add']);
    assert.equal(principal.sessionId, undefined);
  });

  it('accepts typ application/at+jwt', async () => {
    const principal = await verifierFor().verifyAccessToken(
      await idp.sign({}, { typ: 'application/at+jwt' }),
    );
    assert.equal(principal.subject, 'user-1');
  });

  it('accepts a token expired less than the 60 s clock tolerance ago', async () => {
    const principal = await verifierFor().verifyAccessToken(await idp.sign({ exp: nowSec() - 30 }));
    assert.equal(principal.subject, 'user-1');
  });

  it('accepts a session token at the session check and refuses it at the access check', async () => {
    const token = await idp.sign(
      { aud: 'gatehouse-session', client_id: undefined },
      { typ: 'gh-session+jwt' },
    );
    const verifier = verifierFor();
    const principal = await verifier.verifySessionToken(token);
    assert.equal(principal.kind, 'user');
    assert.equal(principal.clientId, '');
    assert.equal(principal.username, 'alice');
    await rejectsWith(verifier.verifyAccessToken(token), 'SDK_TOKEN_TYPE_INVALID');
  });

  it('refuses an access token at the session check', async () => {
    await rejectsWith(verifierFor().verifySessionToken(await idp.sign()), 'SDK_TOKEN_TYPE_INVALID');
  });

  it('refuses a session token whose audience is not gatehouse-session', async () => {
    const token = await idp.sign({ aud: 'orders' }, { typ: 'gh-session+jwt' });
    await rejectsWith(verifierFor().verifySessionToken(token), 'SDK_AUDIENCE_INVALID');
  });
});

describe('options', () => {
  it('refuses to be configured with HS256, none or a clock tolerance over 60 s', () => {
    assert.throws(() => verifierFor({ algorithms: ['HS256'] }), TypeError);
    assert.throws(() => verifierFor({ algorithms: ['none'] }), TypeError);
    assert.throws(() => verifierFor({ clockToleranceSec: 61 }), TypeError);
    assert.throws(() => verifierFor({ audiences: [] }), TypeError);
  });

  it('refuses an ES256 token when only EdDSA is allowed, before any key lookup', async () => {
    const before = idp.requests;
    await rejectsWith(
      verifierFor({ algorithms: ['EdDSA'] }).verifyAccessToken(await idp.sign()),
      'SDK_ALG_NOT_ALLOWED',
    );
    assert.equal(idp.requests, before);
  });

  it('honours a smaller maxTokenLength', async () => {
    await rejectsWith(
      verifierFor({ maxTokenLength: 100 }).verifyAccessToken(await idp.sign()),
      'SDK_TOKEN_TOO_LARGE',
    );
  });
});

describe('JWKS fetching', () => {
  it('refetches once on an unknown kid, then waits for the cooldown', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const before = idp.requests;
    const verifier = verifierFor({ cacheSize: 0 });
    const rotated = await makeKey('key-2');

    await verifier.verifyAccessToken(await idp.sign());
    assert.equal(idp.requests, before + 1, 'first verification fetches the JWKS');

    // Right after a fetch, an unknown kid does not cause another one.
    await rejectsWith(verifier.verifyAccessToken(await idp.sign({}, {}, rotated)), 'SDK_KEY_UNKNOWN');
    assert.equal(idp.requests, before + 1);

    idp.served = [idp.key, rotated];
    try {
      t.mock.timers.tick(30_001);
      await rejectsWith(verifier.verifyAccessToken(await idp.sign({}, { kid: 'key-3' })), 'SDK_KEY_UNKNOWN');
      assert.equal(idp.requests, before + 2, 'an unknown kid after the cooldown refetches once');

      await rejectsWith(verifier.verifyAccessToken(await idp.sign({}, { kid: 'key-4' })), 'SDK_KEY_UNKNOWN');
      assert.equal(idp.requests, before + 2, 'inside the cooldown no refetch');

      const principal = await verifier.verifyAccessToken(await idp.sign({}, {}, rotated));
      assert.equal(principal.subject, 'user-1', 'the rotated key came with the refetch');
      assert.equal(idp.requests, before + 2);
    } finally {
      idp.served = [idp.key];
    }
  });

  it('answers SDK_JWKS_UNAVAILABLE with 503 when the keys were never fetched', async () => {
    idp.up = false;
    try {
      const err = await rejectsWith(
        verifierFor().verifyAccessToken(await idp.sign()),
        'SDK_JWKS_UNAVAILABLE',
        503,
      );
      assert.equal(err.headers, undefined);
    } finally {
      idp.up = true;
    }
  });

  it('keeps verifying with the keys fetched last when the JWKS endpoint goes down', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verifier = verifierFor({ cacheSize: 0 });
    await verifier.verifyAccessToken(await idp.sign());
    idp.up = false;
    try {
      t.mock.timers.tick(11 * 60_000); // past jose's 10 min JWKS cache age: it must refetch
      const before = idp.requests;
      const principal = await verifier.verifyAccessToken(await idp.sign());
      assert.equal(principal.subject, 'user-1');
      assert.equal(idp.requests, before + 1, 'the refetch was tried');
    } finally {
      idp.up = true;
    }
  });
});

describe('cache and revocation', () => {
  it('answers a repeated token from the cache with the same principal', async () => {
    const verifier = verifierFor();
    const token = await idp.sign();
    const first = await verifier.verifyAccessToken(token);
    const second = await verifier.verifyAccessToken(token);
    assert.equal(second, first);
    assert.deepEqual({ ...verifier.stats }, { hits: 1, misses: 1 });
  });

  it('does not serve a cached token past its exp', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verifier = verifierFor();
    const token = await idp.sign({ exp: nowSec() + 10 });
    await verifier.verifyAccessToken(token);
    t.mock.timers.tick(80_000);
    await rejectsWith(verifier.verifyAccessToken(token), 'SDK_TOKEN_EXPIRED');
    assert.deepEqual({ ...verifier.stats }, { hits: 0, misses: 2 });
  });

  it('drops the least recently used entry when full', async () => {
    const verifier = verifierFor({ cacheSize: 2 });
    const [a, b, c] = await Promise.all([idp.sign(), idp.sign(), idp.sign()]);
    await verifier.verifyAccessToken(a!);
    await verifier.verifyAccessToken(b!);
    await verifier.verifyAccessToken(a!); // a is now the most recent
    await verifier.verifyAccessToken(c!); // evicts b
    await verifier.verifyAccessToken(a!);
    await verifier.verifyAccessToken(b!);
    assert.deepEqual({ ...verifier.stats }, { hits: 2, misses: 4 });
  });

  it('caches nothing when cacheSize is 0', async () => {
    const verifier = verifierFor({ cacheSize: 0 });
    const token = await idp.sign();
    await verifier.verifyAccessToken(token);
    await verifier.verifyAccessToken(token);
    assert.deepEqual({ ...verifier.stats }, { hits: 0, misses: 2 });
  });

  it('refuses a cached token once its jti is revoked', async () => {
    const verifier = verifierFor();
    const token = await idp.sign({ jti: 'jti-revoked' });
    await verifier.verifyAccessToken(token);
    verifier.revoke({ kind: 'jti', value: 'jti-revoked', expiresAt: nowSec() + 300 });
    const err = await rejectsWith(verifier.verifyAccessToken(token), 'SDK_TOKEN_REVOKED');
    assert.equal(
      err.headers?.['www-authenticate'],
      'Bearer error="invalid_token", error_description="The token has been revoked"',
    );
    const other = await verifier.verifyAccessToken(await idp.sign({ jti: 'jti-other' }));
    assert.equal(other.tokenId, 'jti-other');
  });

  it('refuses every token of a revoked session, cached or not', async () => {
    const verifier = verifierFor();
    const cached = await idp.sign({ sid: 'session-9' });
    await verifier.verifyAccessToken(cached);
    verifier.revoke({ kind: 'sid', value: 'session-9', expiresAt: nowSec() + 300 });
    await rejectsWith(verifier.verifyAccessToken(cached), 'SDK_TOKEN_REVOKED');
    await rejectsWith(verifier.verifyAccessToken(await idp.sign({ sid: 'session-9' })), 'SDK_TOKEN_REVOKED');
    const other = await verifier.verifyAccessToken(await idp.sign({ sid: 'session-10' }));
    assert.equal(other.sessionId, 'session-10');
  });

  it('asks isRevoked once per token and refuses when it says so', async () => {
    const asked: string[] = [];
    const verifier = verifierFor({
      isRevoked: async (p) => {
        asked.push(p.tokenId);
        return p.tokenId === 'jti-bad';
      },
    });
    const good = await idp.sign({ jti: 'jti-good' });
    await verifier.verifyAccessToken(good);
    await verifier.verifyAccessToken(good);
    await rejectsWith(verifier.verifyAccessToken(await idp.sign({ jti: 'jti-bad' })), 'SDK_TOKEN_REVOKED');
    assert.deepEqual(asked, ['jti-good', 'jti-bad']);
  });

  it('verifies a new token once for many concurrent first uses', async () => {
    let keyLookups = 0;
    let asked = 0;
    const verifier = verifierFor({
      getKey: async () => {
        keyLookups++;
        return importJWK(idp.key.publicJwk, 'ES256');
      },
      isRevoked: async () => {
        asked++;
        return false;
      },
    });
    const token = await idp.sign();
    const principals = await Promise.all(Array.from({ length: 5 }, () => verifier.verifyAccessToken(token)));
    assert.equal(new Set(principals).size, 1);
    assert.deepEqual({ keyLookups, asked }, { keyLookups: 1, asked: 1 });
  });

  it('fails closed with 503 when isRevoked throws', async () => {
    const verifier = verifierFor({
      isRevoked: async () => {
        throw new Error('redis down');
      },
    });
    await rejectsWith(verifier.verifyAccessToken(await idp.sign()), 'SDK_REVOCATION_UNAVAILABLE', 503);
  });

  it('serves from the cache only the very token cached, not one that ends like it', async () => {
    const verifier = verifierFor();
    const token = await idp.sign({ sub: 'user-1' });
    await verifier.verifyAccessToken(token);
    const [, payload, signature] = token.split('.') as [string, string, string];
    const otherHeader = Buffer.from(
      JSON.stringify({ kid: idp.key.kid, typ: 'at+jwt', alg: 'ES256' }),
    ).toString('base64url');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const otherPayload = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    // The cache finds entries by the token's end: these share the cached token's signature.
    for (const forged of [
      `${otherHeader}.${payload}.${signature}`,
      `${token.split('.')[0]}.${otherPayload}.${signature}`,
    ]) {
      assert.notEqual(forged, token);
      await rejectsWith(verifier.verifyAccessToken(forged), 'SDK_SIGNATURE_INVALID');
      await rejectsWith(verifier.verifyAuthorization(`Bearer ${forged}`), 'SDK_SIGNATURE_INVALID');
    }
    // ...and the refused ones did not take the cached token's place.
    const again = await verifier.verifyAccessToken(token);
    assert.equal(again.subject, 'user-1');
    assert.deepEqual({ ...verifier.stats }, { hits: 1, misses: 5 });
  });

  it('verifyAuthorization answers as parseBearer then verifyAccessToken, cached or not', async () => {
    const verifier = verifierFor();
    const token = await idp.sign({ jti: 'jti-header' });
    const revokedToken = await idp.sign({ jti: 'jti-header-revoked' });
    const reference = verifierFor();
    const outcome = async (f: () => Promise<Principal>) => {
      try {
        return `ok ${(await f()).tokenId}`;
      } catch (err) {
        return `${(err as SdkError).code} ${(err as SdkError).status}`;
      }
    };
    const headers: (string | string[] | undefined)[] = [
      `Bearer ${token}`,
      `bearer ${token}`,
      `Bearer  ${token}`,
      `Bearer ${token} `,
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${revokedToken}`,
      `Basic ${token}`,
      'Bearer ',
      'Bearer',
      '',
      undefined,
      [`Bearer ${token}`, `Bearer ${token}`],
    ];
    for (const round of ['first use', 'cached']) {
      for (const header of headers) {
        const got = await outcome(() => verifier.verifyAuthorization(header));
        const want = await outcome(() =>
          Promise.resolve().then(() => reference.verifyAccessToken(parseBearer(header))),
        );
        assert.equal(got, want, `${round}: ${JSON.stringify(header)?.slice(0, 40)}`);
      }
      verifier.revoke({ kind: 'jti', value: 'jti-header-revoked', expiresAt: nowSec() + 300 });
      reference.revoke({ kind: 'jti', value: 'jti-header-revoked', expiresAt: nowSec() + 300 });
    }
    assert.ok(verifier.stats.hits > 0);
  });

  it('refuses a malformed revocation message', () => {
    const verifier = verifierFor();
    assert.throws(
      () => verifier.revoke({ kind: 'user' as 'jti', value: 'x', expiresAt: nowSec() + 10 }),
      TypeError,
    );
    assert.throws(() => verifier.revoke({ kind: 'jti', value: '', expiresAt: nowSec() + 10 }), TypeError);
  });
});

describe('parseBearer', () => {
  it('returns the token of a well-formed header, any casing of the scheme', () => {
    assert.equal(parseBearer('Bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(parseBearer('bearer abc.def.ghi'), 'abc.def.ghi');
    assert.equal(parseBearer('BEARER abc'), 'abc');
  });

  it('answers SDK_TOKEN_MISSING with a bare challenge when there is no header', () => {
    for (const value of [undefined, null, '']) {
      assert.throws(
        () => parseBearer(value),
        (err: unknown) =>
          err instanceof SdkError &&
          err.code === 'SDK_TOKEN_MISSING' &&
          err.status === 401 &&
          err.headers?.['www-authenticate'] === 'Bearer',
      );
    }
  });

  it('answers SDK_TOKEN_MALFORMED for anything but exactly one bearer token', () => {
    for (const value of [
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer ',
      'Bearer a b',
      'Bearer a,b',
      'Bearer\ta',
      'Bearer a\n',
      ['Bearer a', 'Bearer b'],
    ]) {
      assert.throws(
        () => parseBearer(value),
        (err: unknown) => err instanceof SdkError && err.code === 'SDK_TOKEN_MALFORMED' && err.status === 401,
        `for ${JSON.stringify(value)}`,
      );
    }
  });
});

describe('error catalog', () => {
  it('lists every code in docs/sdk/errors.md', async () => {
    const doc = await readFile(new URL('../../../docs/sdk/errors.md', import.meta.url), 'utf8');
    // Table cells may be padded by the formatter.
    const missing = Object.keys(sdkErrorCatalog).filter(
      (code) => !new RegExp(`\\|\\s*\`${code}\`\\s*\\|`).test(doc),
    );
    assert.deepEqual(missing, []);
  });
});
