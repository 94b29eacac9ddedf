import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { readConformanceJson } from '@gatehouse/core/testing';
import { exportJWK, generateKeyPair } from 'jose';
import { ecdsaDerToJose, lowS, P256 } from '../src/keys/ecdsa-signature.ts';
import { LocalSigningKey } from '../src/keys/local-signing-key.ts';
import { signSessionToken } from '../src/sessions/session-token.ts';

interface DerVectors {
  numberOfTests: number;
  testGroups: {
    publicKeyDer: string;
    tests: {
      tcId: number;
      comment: string;
      msg: string;
      sig: string;
      result: 'valid' | 'invalid' | 'acceptable';
    }[];
  }[];
}

const derFile = await readConformanceJson<DerVectors>('wycheproof/ecdsa_secp256r1_sha256_test.json');

function sHalf(jose: Buffer): bigint {
  return BigInt(`0x${jose.subarray(32).toString('hex')}`);
}

describe('DER to JOSE, Wycheproof ECDSA P-256 DER vectors', { skip: derFile.skip }, () => {
  const file = derFile.data as DerVectors;

  test('every valid signature converts exactly and verifies; no invalid one converts to a verifying signature', () => {
    let vectors = 0;
    let refusedByConversion = 0;
    const wrong: string[] = [];
    for (const group of file.testGroups) {
      const key = createPublicKey({
        key: Buffer.from(group.publicKeyDer, 'hex'),
        format: 'der',
        type: 'spki',
      });
      for (const t of group.tests) {
        vectors++;
        const der = Buffer.from(t.sig, 'hex');
        let jose: Buffer | undefined;
        try {
          jose = ecdsaDerToJose(der, 32);
        } catch {
          refusedByConversion++;
        }
        const accepted =
          jose !== undefined &&
          verify('sha256', Buffer.from(t.msg, 'hex'), { key, dsaEncoding: 'ieee-p1363' }, jose);
        if (accepted !== (t.result === 'valid')) wrong.push(`#${t.tcId} ${t.comment} (${t.result})`);
        // Exactly: the conversion is Node's own, byte for byte, wherever Node reads the DER.
        if (jose !== undefined && t.result === 'valid') {
          const ours = verify('sha256', Buffer.from(t.msg, 'hex'), key, der);
          assert.equal(ours, true, `#${t.tcId}`);
        }
      }
    }
    assert.equal(vectors, file.numberOfTests);
    assert.deepEqual(wrong, []);
    // Most of the invalid encodings (BER lengths, padding, signs, trailing bytes) never get as far as a verify.
    assert.ok(refusedByConversion > 100, `${refusedByConversion} refused by the conversion`);
  });
});

describe('DER to JOSE refuses what it cannot convert exactly', () => {
  const r = Buffer.alloc(32, 0x11);
  const int = (bytes: number[] | Buffer) =>
    Buffer.concat([Buffer.from([0x02, bytes.length]), Buffer.from(bytes)]);
  const seq = (...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  };
  const good = seq(int(r), int(r));

  test('a well-formed signature converts', () => {
    assert.deepEqual(ecdsaDerToJose(good, 32), Buffer.concat([r, r]));
  });

  const cases: [string, Buffer][] = [
    ['an empty input', Buffer.alloc(0)],
    ['a SET instead of a SEQUENCE', Buffer.concat([Buffer.from([0x31]), good.subarray(1)])],
    ['a sequence length one too long', Buffer.concat([Buffer.from([0x30, good[1]! + 1]), good.subarray(2)])],
    ['a sequence length one too short', Buffer.concat([Buffer.from([0x30, good[1]! - 1]), good.subarray(2)])],
    ['a trailing byte after the sequence', Buffer.concat([good, Buffer.from([0])])],
    [
      'a long-form length for a short sequence',
      Buffer.concat([Buffer.from([0x30, 0x81, good[1]!]), good.subarray(2)]),
    ],
    [
      'an indefinite length',
      Buffer.concat([Buffer.from([0x30, 0x80]), good.subarray(2), Buffer.from([0, 0])]),
    ],
    ['a third integer in the sequence', seq(int(r), int(r), int([1]))],
    ['one integer only', seq(int(r))],
    ['a leading zero that is not needed', seq(int([0, ...r]), int(r))],
    ['a negative integer', seq(int([0x80, ...r.subarray(1)]), int(r))],
    ['a missing zero before a high bit', seq(int(r), int(Buffer.alloc(32, 0xee)))],
    ['an integer longer than the curve', seq(int(Buffer.alloc(33, 0x11)), int(r))],
    ['a zero integer', seq(int([0]), int(r))],
    ['an empty integer', seq(int([]), int(r))],
    ['an OCTET STRING instead of an INTEGER', seq(Buffer.concat([Buffer.from([0x04, 32]), r]), int(r))],
    [
      'an integer running past the sequence',
      Buffer.concat([Buffer.from([0x30, 6, 0x02, 40]), Buffer.alloc(4, 1)]),
    ],
  ];
  for (const [name, der] of cases) {
    test(`refuses ${name}`, () => {
      assert.throws(() => ecdsaDerToJose(der, 32), /malformed ECDSA signature/);
    });
  }
});

describe('the identity provider signs ES256 with low s only', () => {
  test('lowS keeps a low s, and turns a high s into n − s that still verifies', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    let high = 0;
    for (let i = 0; i < 64; i++) {
      const data = Buffer.from(`message ${i}`);
      // Node's own DER signature, with either half of s.
      const jose = ecdsaDerToJose(sign('sha256', data, privateKey), 32);
      const normal = lowS(jose, P256);
      if (sHalf(jose) > P256.order >> 1n) {
        high++;
        assert.equal(sHalf(normal), P256.order - sHalf(jose));
      } else assert.equal(normal, jose);
      assert.ok(sHalf(normal) <= P256.order >> 1n);
      assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, normal));
    }
    assert.ok(high > 0, 'some of 64 signatures had a high s');
  });

  test('LocalSigningKey (access and ID tokens) gives low s in every signature', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const key = new LocalSigningKey({ ...(await exportJWK(privateKey)), kid: 'k', alg: 'ES256' });
    for (let i = 0; i < 64; i++) {
      const data = Buffer.from(`header.payload${i}`);
      const signature = await key.sign(data);
      assert.ok(sHalf(signature) <= P256.order >> 1n, `signature ${i}`);
      assert.ok(verify('sha256', data, { key: key.keyObject(), dsaEncoding: 'ieee-p1363' }, signature));
    }
  });

  test('session tokens (signed through jose) get low s too', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const keys = {
      signingKey: async () => ({ kid: 'k', alg: 'ES256', key: privateKey }),
      verifier: () => async () => publicKey,
    };
    for (let i = 0; i < 32; i++) {
      const token = await signSessionToken(keys, {
        issuer: 'http://localhost/auth',
        sub: 'u',
        sid: 's',
        username: 'alice',
        roles: [],
        amr: ['pwd'],
        expiresAt: new Date(Date.now() + 60_000),
      });
      const [h, p, s] = token.split('.') as [string, string, string];
      const signature = Buffer.from(s, 'base64url');
      assert.ok(sHalf(signature) <= P256.order >> 1n, `token ${i}`);
      const ok = await crypto.subtle.verify(
        { name: 'ECDSA', hash: 'SHA-256' },
        publicKey,
        signature,
        Buffer.from(`${h}.${p}`),
      );
      assert.ok(ok);
    }
  });
});
