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
 * An ECDSA signature `(r, s)` has a twin `(r, n − s)` that verifies as well, over the same input,
 * with no key: the low-s one (`s ≤ n/2`) is canonical. Returns the twin of a JWS signature of `alg`
 * whose s is high (`n/2 < s < n`); undefined when there is nothing to change (low s, another
 * algorithm, a signature of the wrong size or with `s ≥ n`, which the signature check refuses).
 * The twin is valid exactly when the signature is, so verifying one decides for both.
 */
export function lowSTwin(alg: string, signature: Buffer): Buffer | undefined {
  const curve = BOUNDS.get(alg);
  if (curve === undefined || signature.length !== 2 * curve.bytes) return undefined;
  const s = signature.subarray(curve.bytes);
  if (s.compare(curve.half) <= 0 || s.compare(curve.order) >= 0) return undefined;
  const lowS = curve.n - BigInt(`0x${s.toString('hex')}`);
  return Buffer.concat([signature.subarray(0, curve.bytes), toBytes(lowS, curve.bytes)]);
}

/**
 * The one text a token is known by: for an ECDSA token with a high-s signature, the same token with
 * its low-s twin (what the identity provider signs); otherwise the token itself. Everything keyed on
 * token text (the verified-token cache, revocation, deny-lists) then sees one token, not two.
 */
export function canonicalTokenText(token: string, jws: CompactJws): string {
  const alg = jws.header['alg'] as string;
  if (!BOUNDS.has(alg)) return token;
  const twin = lowSTwin(alg, Buffer.from(jws.signature, 'base64url'));
  return twin === undefined ? token : token.slice(0, jws.signatureOffset) + twin.toString('base64url');
}
