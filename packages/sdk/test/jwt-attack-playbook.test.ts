/**
 * A playbook of attacks on JWT verification (RFC 8725 and the usual tool lists), each as a token the
 * verifier must refuse, with the one stable code it must answer. Tokens whose JSON no library
 * writes (`1e400`, repeated members) are signed over their exact text with the trusted key, so that
 * only the verifier's reading of that text can refuse them.
 */
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, importJWK, type JWTVerifyGetKey, SignJWT } from 'jose';
import { createVerifier, SdkError, type Verifier } from '../src/index.ts';
import { nowSec, rawToken, signText, startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

let idp: TestIssuer;
let verifier: Verifier;
before(async () => {
  idp = await startTestIssuer();
  // A long cooldown: hostile kids must never cause a refetch.
  verifier = createVerifier({ issuer: idp.issuer, audiences: ['orders'], jwksCooldownMs: 600_000 });
});
after(() => idp.close());

function claims(): Record<string, unknown> {
  const now = nowSec();
  return {
    iss: idp.issuer,
    sub: 'user-1',
    aud: 'orders',
    client_id: 'web',
    scope: 'openid',
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    iat: now,
    exp: now + 300,
  };
}

/** The JSON text of `object` without the `omit` members and with `extra` members written as given. */
function jsonText(object: Record<string, unknown>, extra = '', omit: string[] = []): string {
  const kept = Object.fromEntries(Object.entries(object).filter(([k]) => !omit.includes(k)));
  const text = JSON.stringify(kept);
  if (extra === '') return text;
  return `${text.slice(0, -1)}${text === '{}' ? '' : ','}${extra}}`;
}

/** A token signed by the trusted key over these exact texts (extra members as written, some left out). */
function signed(
  extraClaims: string,
  omitClaims: string[] = [],
  extraHeader = '',
  omitHeader: string[] = [],
): () => Promise<string> {
  return () => {
    const header = { alg: 'ES256', typ: 'at+jwt', kid: idp.key.kid };
    return signText(
      jsonText(header, extraHeader, omitHeader),
      jsonText(claims(), extraClaims, omitClaims),
      idp.key,
    );
  };
}

function hs256(secret: () => string): () => string {
  return () => {
    const unsigned = rawToken({ alg: 'HS256', typ: 'at+jwt', kid: idp.key.kid }, claims()).slice(0, -1);
    return `${unsigned}.${createHmac('sha256', secret()).update(unsigned).digest('base64url')}`;
  };
}

/** A trusted token with its segment `index` replaced by the base64url of `text`. */
function withSegment(index: number, text: string | Buffer): () => Promise<string> {
  return async () => {
    const parts = (await idp.sign()).split('.');
    parts[index] = Buffer.from(text).toString('base64url');
    return parts.join('.');
  };
}

/** A trusted token with its signature segment replaced. */
function withSignature(signature: (token: string) => string): () => Promise<string> {
  return async () => {
    const token = await idp.sign();
    const dot = token.lastIndexOf('.');
    return `${token.slice(0, dot + 1)}${signature(token.slice(0, dot))}`;
  };
}

interface Attack {
  name: string;
  token: () => Promise<string> | string;
  code: string;
}

const playbook: Record<string, Attack[]> = {
  'algorithm confusion': [
    ...['none', 'None', 'NONE', 'nOnE'].map((alg) => ({
      name: `alg "${alg}", no signature`,
      token: () => rawToken({ alg, typ: 'at+jwt' }, claims()),
      code: 'SDK_ALG_NOT_ALLOWED',
    })),
    {
      name: 'HS256 keyed with the public key PEM',
      token: hs256(() => idp.key.publicPem),
      code: 'SDK_ALG_NOT_ALLOWED',
    },
    {
      name: 'HS256 keyed with the public JWK',
      token: hs256(() => JSON.stringify(idp.key.publicJwk)),
      code: 'SDK_ALG_NOT_ALLOWED',
    },
    { name: 'HS256 keyed with an empty secret', token: hs256(() => ''), code: 'SDK_ALG_NOT_ALLOWED' },
    {
      name: 'alg "es256" (another case)',
      token: signed('', [], '"alg":"es256"', ['alg']),
      code: 'SDK_ALG_NOT_ALLOWED',
    },
    {
      name: 'RS256 when only ES256 and EdDSA are allowed',
      token: async () => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: idp.key.kid })
          .sign(privateKey);
      },
      code: 'SDK_ALG_NOT_ALLOWED',
    },
    { name: 'no alg', token: signed('', [], '', ['alg']), code: 'SDK_ALG_NOT_ALLOWED' },
    { name: 'alg as a list', token: signed('', [], '"alg":["ES256"]', ['alg']), code: 'SDK_ALG_NOT_ALLOWED' },
    {
      name: 'alg with a trailing space',
      token: signed('', [], '"alg":"ES256 "', ['alg']),
      code: 'SDK_ALG_NOT_ALLOWED',
    },
    {
      name: 'EdDSA claimed over the ES256 key',
      token: signed('', [], '"alg":"EdDSA"', ['alg']),
      code: 'SDK_KEY_UNKNOWN',
    },
  ],
  'key-URL and embedded-key headers': [
    {
      name: 'jku',
      token: () => idp.sign({}, { jku: 'https://attacker.example/jwks' }),
      code: 'SDK_HEADER_FORBIDDEN',
    },
    {
      name: 'x5u',
      token: () => idp.sign({}, { x5u: 'https://attacker.example/c.pem' }),
      code: 'SDK_HEADER_FORBIDDEN',
    },
    {
      name: 'jwk: the attacker’s own key, embedded, and the token signed with it',
      token: async () => {
        const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', jwk: await exportJWK(publicKey) })
          .sign(privateKey);
      },
      code: 'SDK_HEADER_FORBIDDEN',
    },
    { name: 'x5c', token: () => idp.sign({}, { x5c: ['MIIBIjANBgkq'] }), code: 'SDK_HEADER_FORBIDDEN' },
  ],
  'kid tricks': [
    {
      name: 'path traversal',
      token: () => idp.sign({}, { kid: '../../../../dev/null' }),
      code: 'SDK_KEY_UNKNOWN',
    },
    {
      name: 'SQL injection',
      token: () => idp.sign({}, { kid: "x' UNION SELECT 'secret" }),
      code: 'SDK_KEY_UNKNOWN',
    },
    {
      name: 'a URL',
      token: () => idp.sign({}, { kid: 'https://attacker.example/key' }),
      code: 'SDK_KEY_UNKNOWN',
    },
    {
      name: 'a NUL byte after the real kid',
      token: () => idp.sign({}, { kid: `${idp.key.kid}\u0000` }),
      code: 'SDK_KEY_UNKNOWN',
    },
    { name: 'unknown', token: () => idp.sign({}, { kid: 'key-404' }), code: 'SDK_KEY_UNKNOWN' },
    { name: 'empty', token: () => idp.sign({}, { kid: '' }), code: 'SDK_TOKEN_MALFORMED' },
    { name: 'a number', token: () => idp.sign({}, { kid: 1 }), code: 'SDK_TOKEN_MALFORMED' },
    {
      name: '5000 characters',
      token: () => idp.sign({}, { kid: 'k'.repeat(5000) }),
      code: 'SDK_TOKEN_MALFORMED',
    },
  ],
  'claim-type tricks': [
    {
      name: 'exp 1e400 (Infinity to JSON.parse)',
      token: signed('"exp":1e400', ['exp']),
      code: 'SDK_CLAIM_TIME_INVALID',
    },
    {
      name: 'exp 1e12 (year 33658)',
      token: signed('"exp":1000000000000', ['exp']),
      code: 'SDK_CLAIM_TIME_INVALID',
    },
    { name: 'nbf -1e400 (-Infinity)', token: signed('"nbf":-1e400'), code: 'SDK_CLAIM_TIME_INVALID' },
    {
      name: 'exp with a fraction',
      token: () => idp.sign({ exp: nowSec() + 300.5 }),
      code: 'SDK_CLAIM_TIME_INVALID',
    },
    {
      name: 'exp as a string',
      token: () => idp.sign({ exp: String(nowSec() + 300) }),
      code: 'SDK_CLAIM_TIME_INVALID',
    },
    { name: 'exp true', token: () => idp.sign({ exp: true }), code: 'SDK_CLAIM_TIME_INVALID' },
    { name: 'iat negative', token: () => idp.sign({ iat: -1 }), code: 'SDK_CLAIM_TIME_INVALID' },
    { name: 'nbf null', token: () => idp.sign({ nbf: null }), code: 'SDK_CLAIM_TIME_INVALID' },
    {
      name: 'aud a list with a number',
      token: () => idp.sign({ aud: ['orders', 42] }),
      code: 'SDK_CLAIM_TYPE_INVALID',
    },
    {
      name: 'aud an object',
      token: () => idp.sign({ aud: { 0: 'orders' } }),
      code: 'SDK_CLAIM_TYPE_INVALID',
    },
    {
      name: 'aud a list in a list',
      token: () => idp.sign({ aud: [['orders']] }),
      code: 'SDK_CLAIM_TYPE_INVALID',
    },
    { name: 'iss a number', token: () => idp.sign({ iss: 1 }), code: 'SDK_CLAIM_TYPE_INVALID' },
    { name: 'sub a list', token: () => idp.sign({ sub: ['user-1'] }), code: 'SDK_CLAIM_TYPE_INVALID' },
    { name: 'client_id a number', token: () => idp.sign({ client_id: 7 }), code: 'SDK_CLAIM_TYPE_INVALID' },
    { name: 'jti a number', token: () => idp.sign({ jti: 1 }), code: 'SDK_CLAIM_TYPE_INVALID' },
    { name: 'sid an object', token: () => idp.sign({ sid: {} }), code: 'SDK_CLAIM_TYPE_INVALID' },
    { name: 'scope a list', token: () => idp.sign({ scope: ['openid'] }), code: 'SDK_CLAIM_TYPE_INVALID' },
    {
      name: 'a lifetime of two days',
      token: () => idp.sign({ iat: nowSec(), exp: nowSec() + 2 * 86_400 }),
      code: 'SDK_TOKEN_LIFETIME_TOO_LONG',
    },
    {
      name: 'no iat and an exp two days away',
      token: () => idp.sign({ iat: undefined, exp: nowSec() + 2 * 86_400 }),
      code: 'SDK_TOKEN_LIFETIME_TOO_LONG',
    },
    { name: 'no exp', token: () => idp.sign({ exp: undefined }), code: 'SDK_CLAIMS_INVALID' },
    { name: 'claims that are a list', token: withSegment(1, '[]'), code: 'SDK_TOKEN_MALFORMED' },
    { name: 'claims that are a string', token: withSegment(1, '"sub"'), code: 'SDK_TOKEN_MALFORMED' },
  ],
  'duplicate members': [
    { name: 'alg twice in the header', token: signed('', [], '"alg":"none"'), code: 'SDK_DUPLICATE_MEMBER' },
    { name: 'typ twice in the header', token: signed('', [], '"typ":"JWT"'), code: 'SDK_DUPLICATE_MEMBER' },
    { name: 'sub twice', token: signed('"sub":"admin"'), code: 'SDK_DUPLICATE_MEMBER' },
    { name: 'exp twice', token: () => signed(`"exp":${nowSec() + 100}`)(), code: 'SDK_DUPLICATE_MEMBER' },
    {
      name: 'sub spelled with an escape',
      token: signed('"\\u0073ub":"admin"'),
      code: 'SDK_DUPLICATE_MEMBER',
    },
    {
      name: 'a member repeated inside a nested object',
      token: signed('"cnf":{"x5t#S256":"a","x5t#S256":"b"}'),
      code: 'SDK_DUPLICATE_MEMBER',
    },
    {
      name: 'a member repeated in an object inside a list',
      token: signed('"authorization_details":[{"type":"a","type":"b"}]'),
      code: 'SDK_DUPLICATE_MEMBER',
    },
    {
      name: '__proto__ twice',
      token: signed('"__proto__":{},"__proto__":{"admin":true}'),
      code: 'SDK_DUPLICATE_MEMBER',
    },
  ],
  'b64 and crit': [
    { name: 'b64 false without crit', token: signed('', [], '"b64":false'), code: 'SDK_HEADER_CRIT_INVALID' },
    { name: 'b64 true without crit', token: signed('', [], '"b64":true'), code: 'SDK_HEADER_CRIT_INVALID' },
    {
      name: 'b64 false listed in crit',
      token: signed('', [], '"b64":false,"crit":["b64"]'),
      code: 'SDK_HEADER_CRIT_UNSUPPORTED',
    },
    {
      name: 'an unknown critical extension',
      token: signed('', [], '"ext":1,"crit":["ext"]'),
      code: 'SDK_HEADER_CRIT_UNSUPPORTED',
    },
    { name: 'crit empty', token: signed('', [], '"crit":[]'), code: 'SDK_HEADER_CRIT_INVALID' },
    { name: 'crit a string', token: signed('', [], '"ext":1,"crit":"ext"'), code: 'SDK_HEADER_CRIT_INVALID' },
    {
      name: 'crit naming a registered header',
      token: signed('', [], '"crit":["alg"]'),
      code: 'SDK_HEADER_CRIT_INVALID',
    },
    {
      name: 'crit naming an absent header',
      token: signed('', [], '"crit":["ext"]'),
      code: 'SDK_HEADER_CRIT_INVALID',
    },
    {
      name: 'crit naming one extension twice',
      token: signed('', [], '"ext":1,"crit":["ext","ext"]'),
      code: 'SDK_HEADER_CRIT_INVALID',
    },
  ],
  'encoding tricks': [
    { name: 'padding', token: async () => `${await idp.sign()}=`, code: 'SDK_TOKEN_MALFORMED' },
    {
      name: 'standard base64 characters',
      token: async () => `a+/b${await idp.sign()}`,
      code: 'SDK_TOKEN_MALFORMED',
    },
    { name: 'four segments', token: async () => `${await idp.sign()}.e30`, code: 'SDK_TOKEN_MALFORMED' },
    {
      name: 'two segments',
      token: async () => (await idp.sign()).split('.').slice(0, 2).join('.'),
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'an empty payload segment',
      token: async () => (await idp.sign()).replace(/\.[^.]+\./, '..'),
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a header with a byte-order mark',
      token: withSegment(0, `\ufeff${JSON.stringify({ alg: 'ES256', typ: 'at+jwt' })}`),
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a header that is not UTF-8',
      token: withSegment(0, Buffer.from([0x7b, 0xff, 0x7d])),
      code: 'SDK_TOKEN_MALFORMED',
    },
    { name: 'a header that is a list', token: withSegment(0, '["ES256"]'), code: 'SDK_TOKEN_MALFORMED' },
    {
      name: 'a header that is not JSON',
      token: withSegment(0, "{alg:'ES256'}"),
      code: 'SDK_TOKEN_MALFORMED',
    },
    {
      name: 'a signature segment of impossible length (4k+1 characters)',
      token: async () => {
        const token = await idp.sign();
        const signature = token.slice(token.lastIndexOf('.') + 1);
        return `${token}${'A'.repeat((5 - (signature.length % 4)) % 4)}`;
      },
      code: 'SDK_TOKEN_NOT_CANONICAL',
    },
  ],
  'signature tricks': [
    { name: 'an empty signature', token: withSignature(() => ''), code: 'SDK_SIGNATURE_INVALID' },
    {
      name: 'r and s zero',
      token: withSignature(() => Buffer.alloc(64).toString('base64url')),
      code: 'SDK_SIGNATURE_INVALID',
    },
    {
      name: 'a DER signature instead of r‖s',
      token: withSignature((input) => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        return sign('sha256', Buffer.from(input), privateKey).toString('base64url');
      }),
      code: 'SDK_SIGNATURE_INVALID',
    },
    {
      name: 'claims swapped under a valid signature',
      token: async () => {
        const [h, , s] = (await idp.sign()).split('.');
        return `${h}.${Buffer.from(JSON.stringify({ ...claims(), sub: 'admin' })).toString('base64url')}.${s}`;
      },
      code: 'SDK_SIGNATURE_INVALID',
    },
  ],
  oversize: [
    {
      name: 'a 100 KB token',
      token: () => `${'A'.repeat(100 * 1024)}.e30.AAAA`,
      code: 'SDK_TOKEN_TOO_LARGE',
    },
    {
      name: 'one character over the limit',
      token: () => 'e30.'.padEnd(8193, 'A'),
      code: 'SDK_TOKEN_TOO_LARGE',
    },
    {
      name: 'a validly signed token over the limit',
      token: () => idp.sign({ padding: 'x'.repeat(8192) }),
      code: 'SDK_TOKEN_TOO_LARGE',
    },
  ],
};

for (const [category, attacks] of Object.entries(playbook)) {
  describe(`JWT attack playbook: ${category}`, () => {
    for (const attack of attacks) {
      test(`${attack.name} → ${attack.code}`, async () => {
        const token = await attack.token();
        try {
          await verifier.verifyAccessToken(token);
        } catch (err) {
          assert.ok(err instanceof SdkError, `expected SdkError, got ${String(err)}`);
          assert.equal(err.code, attack.code);
          assert.equal(err.status, 401);
          assert.match(
            err.headers?.['www-authenticate'] ?? '',
            /^Bearer error="invalid_token", error_description="[^"]+"$/,
          );
          return;
        }
        assert.fail(`${attack.name} was accepted`);
      });
    }
  });
}

describe('JWT attack playbook: what the strict reading still accepts', () => {
  test('a ":" or escaped quotes inside member names and strings are no duplicates', async () => {
    const token = await signed('"note":"a:\\"b\\":c","x:y":{"a":1},"list":[{"a":1},{"a":2}]')();
    const principal = await verifier.verifyAccessToken(token);
    assert.equal(principal.claims['note'], 'a:"b":c');
  });

  test('a claims set nested 2000 deep is read without a stack overflow', async () => {
    const token = await signed(`"deep":${'['.repeat(2000)}${']'.repeat(2000)}`)();
    assert.equal((await verifier.verifyAccessToken(token)).subject, 'user-1');
  });

  test('the playbook caused no JWKS fetch beyond the first', () => {
    assert.equal(idp.requests, 1);
  });
});

describe('unexpected failures: SDK_VERIFICATION_FAILED, logged with the cause, 401 to the client', () => {
  const faults: [string, JWTVerifyGetKey][] = [
    [
      'a key source that throws',
      async () => {
        throw new TypeError('key store exploded');
      },
    ],
    ['a key of the wrong type for the algorithm', async () => (await generateKeyPair('RS256')).publicKey],
    [
      'a key that may not verify',
      async () => importJWK({ ...idp.key.publicJwk, key_ops: ['encrypt'] }, 'ES256', { extractable: false }),
    ],
  ];
  for (const [name, getKey] of faults) {
    test(name, async () => {
      const logged: { fields: Record<string, unknown>; message: string }[] = [];
      const faulty = createVerifier({
        issuer: idp.issuer,
        audiences: ['orders'],
        getKey,
        logger: { error: (fields, message) => logged.push({ fields, message }) },
      });
      const err = await faulty.verifyAccessToken(await idp.sign()).then(
        () => assert.fail('accepted'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SdkError);
      assert.equal(err.code, 'SDK_VERIFICATION_FAILED');
      assert.equal(err.status, 401);
      assert.ok(err.cause instanceof Error);
      assert.equal(logged.length, 1);
      assert.equal(logged[0]?.fields['code'], 'SDK_VERIFICATION_FAILED');
      assert.equal(logged[0]?.fields['err'], err.cause);
    });
  }

  test('a bad signature is still SDK_SIGNATURE_INVALID, and nothing is logged', async () => {
    const logged: unknown[] = [];
    const v = createVerifier({
      issuer: idp.issuer,
      audiences: ['orders'],
      logger: { error: (fields) => logged.push(fields) },
    });
    const [h, p] = (await idp.sign()).split('.');
    const otherSignature = (await idp.sign()).split('.')[2];
    await assert.rejects(v.verifyAccessToken(`${h}.${p}.${otherSignature}`), {
      code: 'SDK_SIGNATURE_INVALID',
    });
    assert.deepEqual(logged, []);
  });
});
