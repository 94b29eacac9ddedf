/**
 * Project Wycheproof's vectors (shared/conformance/wycheproof, beside the repository) against the
 * verifier's signature layer: its strict reading of the JWS (compact-jws.ts), the low-s spelling it
 * verifies and caches ECDSA tokens by (ecdsa-canonical.ts), and the signature check jose makes for
 * it, which is WebCrypto's `verify` for ES256 and EdDSA. No `invalid` vector may be accepted; a
 * `valid` one may be refused only for a reason listed here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readConformanceJson } from '@gatehouse/core/testing';
import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { parseCompactJws } from '../src/compact-jws.ts';
import { canonicalTokenText, lowSTwin } from '../src/ecdsa-canonical.ts';
import { SdkError } from '../src/errors.ts';

interface VectorFile<G> {
  numberOfTests: number;
  testGroups: G[];
}
interface Vector {
  tcId: number;
  comment: string;
  flags: string[];
  result: 'valid' | 'invalid' | 'acceptable';
}
interface SignatureGroup {
  /** SubjectPublicKeyInfo, hex: every group has it (a few have no JWK). */
  publicKeyDer: string;
  tests: (Vector & { msg: string; sig: string })[];
}
interface JwsGroup {
  comment: string;
  public?: JWK;
  private: JWK;
  tests: (Vector & { jws: string })[];
}

/** Signature algorithms a verifier can be configured with (verifier.ts refuses HMAC and `none`). */
const ASYMMETRIC = ['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

const jwsFile = await readConformanceJson<VectorFile<JwsGroup>>('wycheproof/json_web_signature_test.json');
const p1363File = await readConformanceJson<VectorFile<SignatureGroup>>(
  'wycheproof/ecdsa_secp256r1_sha256_p1363_test.json',
);
const ed25519File = await readConformanceJson<VectorFile<SignatureGroup>>('wycheproof/ed25519_test.json');

function allVectors<G extends { tests: Vector[] }>(file: VectorFile<G>): number {
  return file.testGroups.reduce((n, g) => n + g.tests.length, 0);
}

/** The refusal's code, or 'accepted'. */
async function outcome(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'accepted';
  } catch (err) {
    return err instanceof SdkError ? err.code : `jose ${(err as { code?: string }).code ?? String(err)}`;
  }
}

describe('Wycheproof JWS vectors through the verifier’s signature layer', { skip: jwsFile.skip }, () => {
  const file = jwsFile.data as VectorFile<JwsGroup>;

  /**
   * Valid vectors the verifier refuses on purpose, each with the code it answers:
   * - HMAC (`HS256`) can never be configured: refused before any key lookup;
   * - an empty payload: a JWT always has a claims set, so a compact JWS with an empty payload
   *   segment is not one (RFC 7519 §7.2);
   * - a `?` inside the header or payload segment: the signature covers the text as sent, so the
   *   vector counts it valid, but it is not base64url (RFC 7515 §7.1) and the token has no one meaning;
   * - a key whose JWK declares another `alg` than the header's (RFC 7520's PS256 key under PS384, its
   *   `ES521` key under ES512): a key from a JWKS is used only with the algorithm it declares
   *   (RFC 8725 §3.1), so no key matches (the verifier's SDK_KEY_UNKNOWN).
   */
  function refusedOnPurpose(group: JwsGroup, t: Vector & { jws: string }, code: string): boolean {
    if (group.private.kty === 'oct') return code === 'SDK_ALG_NOT_ALLOWED' || code === 'SDK_TOKEN_MALFORMED';
    if (t.jws.includes('..')) return code === 'SDK_TOKEN_MALFORMED';
    const header = JSON.parse(Buffer.from(t.jws.split('.')[0] ?? '', 'base64url').toString()) as {
      alg?: string;
    };
    if (group.public?.alg !== header.alg) return code === 'jose ERR_JWKS_NO_MATCHING_KEY';
    return false;
  }

  /**
   * The JWS as the most permissive verifier would check it: every asymmetric algorithm allowed
   * (HMAC cannot be configured), the group's public key in a JWKS (a `kid` selects among trusted keys
   * only), no `typ` rule (these are bare JWS, not JWTs), the canonical text given to jose.
   */
  async function check(group: JwsGroup, jws: string): Promise<void> {
    const algorithms = ASYMMETRIC;
    const keys = group.public ? [group.public] : [];
    const parsed = parseCompactJws(jws, {
      algorithms: new Set(algorithms),
      maxTokenLength: 8192,
      typ: undefined,
    });
    await compactVerify(canonicalTokenText(jws, parsed), createLocalJWKSet({ keys }), { algorithms });
  }

  test(`all ${allVectors(file)} vectors: no invalid one accepted, every valid one accepted unless refused on purpose`, async () => {
    assert.equal(allVectors(file), file.numberOfTests);
    const wrongAccepts: string[] = [];
    const refusedValid: string[] = [];
    const codes = new Map<string, number>();
    for (const group of file.testGroups) {
      for (const t of group.tests) {
        const got = await outcome(() => check(group, t.jws));
        codes.set(got, (codes.get(got) ?? 0) + 1);
        const name = `${group.comment} #${t.tcId} ${t.comment}`;
        if (got === 'accepted' && t.result === 'invalid') wrongAccepts.push(name);
        if (got !== 'accepted' && t.result === 'valid' && !refusedOnPurpose(group, t, got))
          refusedValid.push(`${name}: ${got}`);
      }
    }
    assert.deepEqual(wrongAccepts, []);
    assert.deepEqual(refusedValid, []);
    // Refusals happen in the parsing layer as much as in the signature check.
    assert.ok((codes.get('SDK_ALG_NOT_ALLOWED') ?? 0) > 0);
    assert.ok(
      (codes.get('SDK_SIGNATURE_INVALID') ?? 0) +
        (codes.get('jose ERR_JWS_SIGNATURE_VERIFICATION_FAILED') ?? 0) >
        0,
    );
  });
});

async function subtleVerify(
  algorithm: EcdsaParams | AlgorithmIdentifier,
  key: CryptoKey,
  signature: Buffer,
  message: Buffer,
): Promise<boolean> {
  return crypto.subtle.verify(algorithm, key, new Uint8Array(signature), new Uint8Array(message));
}

describe('Wycheproof ECDSA P-256 (P1363) vectors, ES256 as the verifier checks it', {
  skip: p1363File.skip,
}, () => {
  const file = p1363File.data as VectorFile<SignatureGroup>;
  const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };

  test(`all ${allVectors(file)} vectors: valid ones verify, invalid ones do not, before and after the low-s spelling`, async () => {
    assert.equal(allVectors(file), file.numberOfTests);
    const wrong: string[] = [];
    let twins = 0;
    for (const group of file.testGroups) {
      const key = await crypto.subtle.importKey(
        'spki',
        Buffer.from(group.publicKeyDer, 'hex'),
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['verify'],
      );
      for (const t of group.tests) {
        const message = Buffer.from(t.msg, 'hex');
        const signature = Buffer.from(t.sig, 'hex');
        // What the verifier hands to jose: the low-s twin of a high-s signature, else the signature.
        const twin = lowSTwin('ES256', signature);
        if (twin) twins++;
        const verified = await subtleVerify(ecdsa, key, twin ?? signature, message);
        const original = await subtleVerify(ecdsa, key, signature, message);
        if (verified !== (t.result === 'valid') || original !== verified)
          wrong.push(`#${t.tcId} ${t.comment} (${t.result}): twin ${verified}, original ${original}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(twins > 10, 'high-s signatures were among the vectors');
  });
});

describe('Wycheproof Ed25519 vectors, EdDSA as the verifier checks it', { skip: ed25519File.skip }, () => {
  const file = ed25519File.data as VectorFile<SignatureGroup>;

  test(`all ${allVectors(file)} vectors: valid ones verify, invalid ones do not, and none has a twin spelling`, async () => {
    assert.equal(allVectors(file), file.numberOfTests);
    const wrong: string[] = [];
    for (const group of file.testGroups) {
      const spki = new Uint8Array(Buffer.from(group.publicKeyDer, 'hex'));
      const key = await crypto.subtle.importKey('spki', spki, { name: 'Ed25519' }, false, ['verify']);
      for (const t of group.tests) {
        const signature = Buffer.from(t.sig, 'hex');
        assert.equal(lowSTwin('EdDSA', signature), undefined);
        const verified = await subtleVerify({ name: 'Ed25519' }, key, signature, Buffer.from(t.msg, 'hex'));
        if (verified !== (t.result === 'valid'))
          wrong.push(`#${t.tcId} ${t.comment} (${t.result}): ${verified}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
