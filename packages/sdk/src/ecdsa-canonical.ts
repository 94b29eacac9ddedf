import type { CompactJws } from './compact-jws.ts';

/**
 * The group orders `n` of the curves of ES256, ES384 and ES512 (SEC 2, FIPS 186-4 D.1.2), with the
 * byte length of r and of s in a JWS signature (RFC 7518 §3.4).
 */
const CURVES: Record<string, { n: bigint; bytes: number }> = {
  ES256: { n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n, bytes: 32 },
  ES384: {
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    bytes: 48,
  },
  ES512: {
    n: 0x01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    bytes: 66,
  },
};

function toBytes(value: bigint, bytes: number): Buffer {
  return Buffer.from(value.toString(16).padStart(bytes * 2, '0'), 'hex');
}

/** Per curve: `n` and `⌊n/2⌋` as fixed-length bytes, so that the usual case is two byte comparisons. */
const BOUNDS = new Map(
  Object.entries(CURVES).map(([alg, { n, bytes }]) => [
    alg,
    { n, bytes, order: toBytes(n, bytes), half: toBytes(n >> 1n, bytes) },
  ]),
);

/**
 * The one text an ECDSA token is known by. An ECDSA signature `(r, s)` has a twin `(r, n − s)` that
 * verifies as well, over the same header and claims, with no key: it is the same token, and
 * everything keyed on token text must see one token. Its canonical spelling is the low-s one
 * (`s ≤ n/2`, what the identity provider signs). For a high-s signature (`n/2 < s < n`) this returns
 * the token with `s` replaced by `n − s`; otherwise (low-s, another algorithm, a signature of the
 * wrong size or with `s ≥ n`, which the signature check refuses) the token itself.
 *
 * The twin is mathematically valid exactly when the original is, so verifying the canonical text
 * decides for both.
 */
export function canonicalTokenText(token: string, jws: CompactJws): string {
  const curve = BOUNDS.get(jws.header['alg'] as string);
  if (curve === undefined || jws.signature.length !== 2 * curve.bytes) return token;
  const s = jws.signature.subarray(curve.bytes);
  if (s.compare(curve.half) <= 0 || s.compare(curve.order) >= 0) return token;
  const lowS = curve.n - BigInt(`0x${s.toString('hex')}`);
  const signature = Buffer.concat([jws.signature.subarray(0, curve.bytes), toBytes(lowS, curve.bytes)]);
  return token.slice(0, jws.signatureOffset) + signature.toString('base64url');
}
