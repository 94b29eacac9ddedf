/**
 * One token, one meaning, at most two spellings: a token is accepted as its issuer wrote it and as
 * its ECDSA twin `(r, n − s)`, both answered from one cache entry; every other re-spelling is refused
 * with a stable code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { checkCanonicalBase64url } from '../src/canonical-base64url.ts';
import { lowSTwin } from '../src/ecdsa-canonical.ts';
import { createVerifier, SdkError, type Verifier } from '../src/index.ts';
import { TokenCache } from '../src/token-cache.ts';
import { nowSec, startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const P256_HALF_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n >> 1n;

let idp: TestIssuer;
before(async () => {
  idp = await startTestIssuer();
});
after(() => idp.close());

function verifierFor(): Verifier {
  return createVerifier({ issuer: idp.issuer, audiences: ['orders'], jwksCooldownMs: 600_000 });
}

async function codeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'accepted';
  } catch (err) {
    assert.ok(err instanceof SdkError, String(err));
    assert.equal(err.status, 401);
    return err.code;
  }
}

/** The token's other ECDSA spelling: its signature with s replaced by n − s. */
function twinOf(token: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const n = P256_HALF_ORDER * 2n + 1n;
  const twinS = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex');
  return `${token.slice(0, dot + 1)}${Buffer.concat([signature.subarray(0, 32), twinS]).toString('base64url')}`;
}

function isLowS(token: string): boolean {
  const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
  return BigInt(`0x${signature.subarray(32).toString('hex')}`) <= P256_HALF_ORDER;
}

/** Every other text of `segment` that a lenient decoder reads as the same bytes (its last character's unused bits). */
function otherSpellings(segment: string): string[] {
  const bytes = Buffer.from(segment, 'base64url');
  return [...ALPHABET]
    .map((c) => segment.slice(0, -1) + c)
    .filter((s) => s !== segment && Buffer.from(s, 'base64url').equals(bytes));
}

/** A token whose header, payload and signature segments all have a last character with unused bits. */
async function tokenWithSpareBits(): Promise<string> {
  for (let filler = ''; filler.length < 4; filler += 'x') {
    const token = await idp.sign({ filler });
    if (token.split('.').every((segment) => segment.length % 4 !== 0)) return token;
  }
  throw new Error('the test header has no spare bits: change its kid');
}

describe('one token, at most two spellings', () => {
  test('the issuer’s spelling and its ECDSA twin are accepted and share one cache entry', async () => {
    const verifier = verifierFor();
    const token = await idp.sign({ jti: 'jti-twins' });
    const twin = twinOf(token);
    assert.notEqual(twin, token);
    const high = isLowS(token) ? twin : token;
    const low = isLowS(token) ? token : twin;

    // The high-s spelling first: it is verified and cached as its low-s text...
    const first = await verifier.verifyAccessToken(high);
    // ...which is then a plain cache hit, and the high-s one finds the same entry.
    assert.equal(await verifier.verifyAccessToken(low), first);
    assert.equal(await verifier.verifyAccessToken(high), first);
    assert.equal(await verifier.verifyAuthorization(`Bearer ${high}`), first);
    assert.equal(await verifier.verifyAuthorization(`Bearer ${low}`), first);
    assert.deepEqual({ ...verifier.stats }, { hits: 4, misses: 1 });

    verifier.revoke({ kind: 'jti', value: 'jti-twins', expiresAt: nowSec() + 300 });
    assert.equal(await codeOf(() => verifier.verifyAccessToken(low)), 'SDK_TOKEN_REVOKED');
    assert.equal(await codeOf(() => verifier.verifyAccessToken(high)), 'SDK_TOKEN_REVOKED');
  });

  test('the low-s spelling first: the twin is answered from its entry without another signature check', async () => {
    const verifier = createVerifier({
      issuer: idp.issuer,
      audiences: ['orders'],
      getKey: async () => {
        keyLookups++;
        return crypto.subtle.importKey(
          'jwk',
          idp.key.publicJwk,
          { name: 'ECDSA', namedCurve: 'P-256' },
          false,
          ['verify'],
        );
      },
    });
    let keyLookups = 0;
    const token = await idp.sign();
    const low = isLowS(token) ? token : twinOf(token);
    const principal = await verifier.verifyAccessToken(low);
    assert.equal(await verifier.verifyAccessToken(twinOf(low)), principal);
    assert.equal(keyLookups, 1);
  });

  test('each non-canonical spelling of the header, the payload or the signature is refused', async () => {
    const verifier = verifierFor();
    const token = await tokenWithSpareBits();
    const segments = token.split('.') as [string, string, string];
    let refused = 0;
    for (const [index, spare] of [
      [0, 4],
      [1, 0],
      [2, 16],
    ] as const) {
      const others = otherSpellings(segments[index]);
      // 2 or 4 unused bits: 3 or 15 other spellings; a segment's length tells which.
      assert.ok(others.length === 3 || others.length === 15, `${others.length} spellings`);
      if (spare) assert.equal(others.length, spare - 1);
      for (const other of others) {
        const respelled = segments.map((s, i) => (i === index ? other : s)).join('.');
        assert.equal(await codeOf(() => verifier.verifyAccessToken(respelled)), 'SDK_TOKEN_NOT_CANONICAL');
        // The twin of a re-spelled header or payload is no better (a twin of a re-spelled signature is
        // just the twin: its signature is written afresh).
        if (index !== 2) {
          assert.equal(
            await codeOf(() => verifier.verifyAccessToken(twinOf(respelled))),
            'SDK_TOKEN_NOT_CANONICAL',
          );
        }
        refused++;
      }
    }
    assert.ok(refused >= 15 + 3 + 3);
    // None of them was verified or cached, and the token itself still is accepted.
    assert.deepEqual({ ...verifier.stats }, { hits: 0, misses: 0 });
    assert.equal(await codeOf(() => verifier.verifyAccessToken(token)), 'accepted');
  });

  test('a cached token’s re-spellings are refused, never answered from its entry nor cached under their own text', async () => {
    const verifier = verifierFor();
    const token = await tokenWithSpareBits();
    const principal = await verifier.verifyAccessToken(token);
    assert.deepEqual({ ...verifier.stats }, { hits: 0, misses: 1 });
    const segments = token.split('.') as [string, string, string];
    const respellings = [0, 1, 2].flatMap((index) =>
      otherSpellings(segments[index]!).map((other) =>
        segments.map((s, i) => (i === index ? other : s)).join('.'),
      ),
    );
    // A re-spelled header or payload ends like the token, so it finds the token's cache slot: a hit
    // needs the whole text to be equal, so it is read strictly instead, and refused.
    assert.ok(respellings.some((r) => r.endsWith(segments[2])));
    for (let round = 0; round < 2; round++) {
      for (const respelled of respellings) {
        assert.equal(await codeOf(() => verifier.verifyAccessToken(respelled)), 'SDK_TOKEN_NOT_CANONICAL');
        assert.equal(
          await codeOf(() => verifier.verifyAuthorization(`Bearer ${respelled}`)),
          'SDK_TOKEN_NOT_CANONICAL',
        );
      }
      // No re-spelling was answered from the cache or verified, and the token's entry is still there.
      assert.deepEqual({ ...verifier.stats }, { hits: round, misses: 1 });
      assert.equal(await verifier.verifyAccessToken(token), principal);
    }
  });

  test('one-character changes at every position of the signature are refused; the token and its twin are accepted', async () => {
    const verifier = verifierFor();
    const token = await idp.sign();
    const start = token.lastIndexOf('.') + 1;
    const accepted = new Set<string>();
    const codes = new Set<string>();
    for (let i = start; i < token.length; i++) {
      // Four replacements per position, a quarter of the alphabet apart.
      for (const c of [0, 16, 32, 48].map((k) => ALPHABET[(ALPHABET.indexOf(token[i]!) + k + 1) % 64]!)) {
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        const code = await codeOf(() => verifier.verifyAccessToken(changed));
        if (code === 'accepted') accepted.add(changed);
        else codes.add(code);
      }
    }
    assert.deepEqual([...accepted], []);
    assert.deepEqual([...codes].sort(), ['SDK_SIGNATURE_INVALID', 'SDK_TOKEN_NOT_CANONICAL']);
    for (const spelling of [token, twinOf(token)]) {
      assert.equal(await codeOf(() => verifier.verifyAccessToken(spelling)), 'accepted');
    }
  });

  test('other re-spellings of the whole token are refused', async () => {
    const verifier = verifierFor();
    const token = await idp.sign();
    const standardAlphabet = token.replaceAll('-', '+').replaceAll('_', '/');
    const cases: [string, string, string][] = [
      ['padded', `${token}=`, 'SDK_TOKEN_MALFORMED'],
      ['standard base64 alphabet', standardAlphabet, 'SDK_TOKEN_MALFORMED'],
      ['a line break inside', `${token.slice(0, 20)}\n${token.slice(20)}`, 'SDK_TOKEN_MALFORMED'],
      ['a space inside', `${token.slice(0, 20)} ${token.slice(20)}`, 'SDK_TOKEN_MALFORMED'],
      ['an extra character at the end', `${token}A`, 'SDK_SIGNATURE_INVALID'],
      ['a character missing at the end', token.slice(0, -1), 'SDK_TOKEN_NOT_CANONICAL'],
    ];
    for (const [name, spelling, code] of cases) {
      if (spelling === token) continue; // a token without '-' or '_' has no other alphabet spelling
      assert.equal(await codeOf(() => verifier.verifyAccessToken(spelling)), code, name);
    }
  });

  test('lowSTwin maps only a high s strictly below n, so it cannot make an invalid signature valid', () => {
    const r = Buffer.alloc(32, 1);
    const n = Buffer.from((P256_HALF_ORDER * 2n + 1n).toString(16), 'hex');
    const half = Buffer.from(P256_HALF_ORDER.toString(16).padStart(64, '0'), 'hex');
    const halfPlusOne = Buffer.from((P256_HALF_ORDER + 1n).toString(16).padStart(64, '0'), 'hex');
    assert.equal(lowSTwin('ES256', Buffer.concat([r, half])), undefined);
    assert.equal(lowSTwin('ES256', Buffer.concat([r, n])), undefined);
    assert.equal(lowSTwin('ES256', Buffer.alloc(64, 0xff)), undefined);
    assert.equal(lowSTwin('ES256', Buffer.concat([r, halfPlusOne]).subarray(1)), undefined);
    assert.deepEqual(lowSTwin('ES256', Buffer.concat([r, halfPlusOne])), Buffer.concat([r, half]));
    assert.equal(lowSTwin('EdDSA', Buffer.concat([r, halfPlusOne])), undefined);
  });
});

describe('the verified-token cache: one entry per token, found by either ECDSA spelling', () => {
  const principal = (tokenId: string, expiresAt = nowSec() + 300) =>
    ({ tokenId, expiresAt }) as unknown as import('../src/principal.ts').Principal;
  const text = (c: string) => `header.payload.${c.repeat(86)}`;

  test('a twin added to a cached token finds the same principal; an unknown twin text does not', () => {
    const cache = new TokenCache(10);
    const p = principal('a');
    cache.set(text('A'), p, nowSec());
    cache.addTwin(text('A'), text('B'));
    assert.equal(cache.get(text('A'), nowSec()), p);
    assert.equal(cache.get(text('B'), nowSec()), p);
    assert.equal(cache.get(text('C'), nowSec()), undefined);
    // A second, different twin is never added: a token has exactly one.
    cache.addTwin(text('A'), text('C'));
    assert.equal(cache.get(text('C'), nowSec()), undefined);
    // Nor is a twin of a token that is not cached.
    cache.addTwin(text('D'), text('E'));
    assert.equal(cache.get(text('E'), nowSec()), undefined);
  });

  test('revoking, expiry and the LRU drop both spellings together', () => {
    const cache = new TokenCache(4);
    cache.set(text('A'), principal('a'), nowSec());
    cache.addTwin(text('A'), text('B'));
    cache.set(text('C'), principal('c'), nowSec());
    cache.addTwin(text('C'), text('D'));
    assert.equal(
      cache.evict((p) => p.tokenId === 'a'),
      1,
    );
    assert.equal(cache.get(text('A'), nowSec()), undefined);
    assert.equal(cache.get(text('B'), nowSec()), undefined);
    assert.equal(cache.size, 1);
    // A token counts once, whichever spellings were presented: four tokens fit, the fifth drops the
    // least recently used one with both its keys.
    for (const [c, twin] of [
      ['E', 'F'],
      ['G', 'H'],
      ['I', 'J'],
    ]) {
      cache.set(text(c!), principal(c!), nowSec());
      cache.addTwin(text(c!), text(twin!));
    }
    assert.equal(cache.size, 4);
    assert.equal(cache.get(text('D'), nowSec())?.tokenId, 'c');
    cache.set(text('K'), principal('k'), nowSec());
    assert.equal(cache.size, 4);
    assert.equal(cache.get(text('E'), nowSec()), undefined);
    assert.equal(cache.get(text('F'), nowSec()), undefined);
    assert.equal(cache.get(text('C'), nowSec())?.tokenId, 'c');
    const expiring = new TokenCache(4);
    expiring.set(text('A'), principal('a', nowSec() + 1), nowSec());
    expiring.addTwin(text('A'), text('B'));
    assert.equal(expiring.get(text('B'), nowSec() + 2), undefined);
    assert.equal(expiring.size, 0);
  });
});

describe('canonical base64url', () => {
  test('the check is exactly "re-encoding the decoded bytes gives the text back"', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{0,12}$/), (segment) => {
        const canonical = Buffer.from(segment, 'base64url').toString('base64url') === segment;
        let accepted = true;
        try {
          checkCanonicalBase64url(segment, 'segment');
        } catch (err) {
          assert.ok(err instanceof SdkError && err.code === 'SDK_TOKEN_NOT_CANONICAL');
          accepted = false;
        }
        assert.equal(accepted, canonical, segment);
      }),
      { numRuns: 2000 },
    );
  });
});
