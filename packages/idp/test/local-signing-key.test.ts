import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { ecdsaDerToJose } from '../src/keys/ecdsa-signature.ts';
import { LocalSigningKey, localSigningKeys } from '../src/keys/local-signing-key.ts';
import { startIdp, type TestIdp } from './idp-harness.ts';

const basic = `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`;

async function privateJwk(alg: 'ES256' | 'EdDSA') {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  return { ...(await exportJWK(privateKey)), kid: `k-${alg}`, alg, use: 'sig' };
}

/** A compact JWS signed by `key`, the way oidc-provider assembles it for an ExternalSigningKey. */
async function compact(key: LocalSigningKey, alg: string): Promise<string> {
  const header = Buffer.from(JSON.stringify({ alg, typ: 'JWT', kid: key.kid })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 })).toString(
    'base64url',
  );
  const signature = await key.sign(Buffer.from(`${header}.${payload}`));
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

describe('local signing keys', () => {
  for (const alg of ['ES256', 'EdDSA'] as const) {
    test(`${alg}: signs JWS that verify with the public JWK, and exposes only the public half`, async () => {
      const jwk = await privateJwk(alg);
      const key = new LocalSigningKey(jwk);
      const { d: _private, ...publicJwk } = jwk;
      const jws = await compact(key, alg);
      const { payload } = await jwtVerify(jws, createLocalJWKSet({ keys: [publicJwk] }), {
        algorithms: [alg],
      });
      assert.equal(payload.sub, 'x');
      assert.equal(key.kid, jwk.kid);
      assert.equal(key.alg, alg);
      assert.equal(key.kty, jwk.kty);
      assert.equal(key.x, jwk.x);
      assert.equal(key.keyObject().type, 'public');
    });
  }

  test('ECDSA signatures convert from DER to r || s, short and padded integers included', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // One r or s in two has its high bit set (DER pads it with 0x00), one in 256 is shorter than 32 bytes.
    for (let i = 0; i < 600; i++) {
      const data = Buffer.from(`message ${i}`);
      const jose = ecdsaDerToJose(sign('sha256', data, privateKey), 32);
      assert.equal(jose.length, 64);
      assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose));
    }
    // r = 0x01 (one byte), s = 0x80 followed by 31 bytes (0x00-padded to 33 in DER).
    const s = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(31, 7)]);
    const der = Buffer.concat([Buffer.from([0x30, 3 + 35, 0x02, 1, 0x01, 0x02, 33, 0x00]), s]);
    assert.deepEqual(ecdsaDerToJose(der, 32), Buffer.concat([Buffer.alloc(31), Buffer.from([1]), s]));
    assert.throws(() => ecdsaDerToJose(Buffer.from([0x31, 0]), 32), /malformed/);
  });

  test('a key of an algorithm without a local scheme stays a JWK', () => {
    const other = { kty: 'RSA', kid: 'r', alg: 'RS256', n: 'AQAB', e: 'AQAB', d: 'AQAB' };
    assert.equal(localSigningKeys({ keys: [other] }).keys[0], other);
  });
});

describe('tokens signed on the event loop', () => {
  let t: TestIdp;
  before(async () => {
    t = await startIdp();
  });
  after(() => t?.close());

  test('a token request signs without WebCrypto; the token verifies with the published JWKS, header as before', async () => {
    const subtle = globalThis.crypto.subtle;
    const webCryptoSign = subtle.sign;
    let webCryptoSignatures = 0;
    subtle.sign = function (this: SubtleCrypto, ...args: Parameters<SubtleCrypto['sign']>) {
      webCryptoSignatures++;
      return webCryptoSign.apply(this, args);
    };
    let token: string;
    try {
      const res = await fetch(`${t.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200);
      token = ((await res.json()) as { access_token: string }).access_token;
    } finally {
      subtle.sign = webCryptoSign;
    }
    assert.equal(webCryptoSignatures, 0);
    const active = t.idp.keys.current().active;
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', typ: 'at+jwt', kid: active.kid });
    const published = (await (await fetch(`${t.issuer}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    await jwtVerify(token, createLocalJWKSet(published as never), { typ: 'at+jwt' });
    const { d: _private, ...activePublic } = active;
    const listed = published.keys.find((k) => k['kid'] === active.kid);
    for (const field of ['kty', 'crv', 'x', 'y', 'alg', 'use'] as const)
      assert.equal(listed?.[field], activePublic[field], field);
  });
});
