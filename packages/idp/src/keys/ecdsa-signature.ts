/**
 * ECDSA signatures as JWS carries them (RFC 7518 §3.4): r and s as unsigned big-endian integers of
 * the curve's size each, concatenated, with s in its low half. `node:crypto` signs in DER
 * (`SEQUENCE { INTEGER r, INTEGER s }`, ITU-T X.690) and with either half of s.
 */

export interface EcdsaCurve {
  /** Bytes of r and of s in the JWS form. */
  bytes: number;
  /** The group order n. */
  order: bigint;
}

/** P-256, the curve of ES256 (FIPS 186-4 D.1.2.3). */
export const P256: EcdsaCurve = {
  bytes: 32,
  order: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
};

function malformed(what: string): Error {
  return new Error(`malformed ECDSA signature: ${what}`);
}

/**
 * One DER length at `offset` (X.690 §8.1.3, DER §10.1: the shortest form): short form below 128,
 * else `0x81` and one byte of at least 128 — enough for every curve here.
 */
function readLength(der: Buffer, offset: number): { length: number; next: number } {
  const first = der[offset];
  if (first === undefined) throw malformed('truncated length');
  if (first < 0x80) return { length: first, next: offset + 1 };
  const second = der[offset + 1];
  if (first === 0x81 && second !== undefined && second >= 0x80) return { length: second, next: offset + 2 };
  throw malformed('length not in its shortest form');
}

/** One INTEGER at `offset`, positive, in its minimal encoding, as at most `bytes` unsigned bytes. */
function readInteger(
  der: Buffer,
  offset: number,
  end: number,
  bytes: number,
): { value: Buffer; next: number } {
  if (der[offset] !== 0x02) throw malformed('INTEGER expected');
  const { length, next } = readLength(der, offset + 1);
  if (length === 0 || next + length > end) throw malformed('INTEGER length');
  let value = der.subarray(next, next + length);
  if (value[0]! & 0x80) throw malformed('negative INTEGER');
  if (value[0] === 0 && length > 1) {
    // A leading zero is allowed only to keep the next byte's high bit from reading as a sign.
    if (!(value[1]! & 0x80)) throw malformed('INTEGER not minimally encoded');
    value = value.subarray(1);
  }
  if (value.length > bytes) throw malformed('INTEGER too large for the curve');
  if (value.every((b) => b === 0)) throw malformed('zero INTEGER');
  return { value, next: next + length };
}

/**
 * DER to the JWS form, exactly or not at all: one SEQUENCE of two positive, minimally encoded
 * INTEGERs that fit the curve, lengths in their shortest form, nothing before, between or after.
 * It only ever sees Node's own signatures; refusing anything else keeps a conversion fault from
 * turning into a signature that means something other than what was signed.
 */
export function ecdsaDerToJose(der: Buffer, bytes: number): Buffer {
  if (der[0] !== 0x30) throw malformed('SEQUENCE expected');
  const { length, next } = readLength(der, 1);
  const end = next + length;
  if (end !== der.length) throw malformed('SEQUENCE length');
  const r = readInteger(der, next, end, bytes);
  const s = readInteger(der, r.next, end, bytes);
  if (s.next !== end) throw malformed('bytes after the two INTEGERs');
  const out = Buffer.alloc(2 * bytes);
  r.value.copy(out, bytes - r.value.length);
  s.value.copy(out, 2 * bytes - s.value.length);
  return out;
}

/**
 * The signature with s in the low half (`s ≤ n/2`): `(r, s)` and `(r, n − s)` both verify, so a
 * signer that emits only one of them gives each token one spelling, and verifiers that key on the
 * token text (caches, deny-lists) see one token.
 */
export function lowS(jose: Buffer, curve: EcdsaCurve): Buffer {
  const s = BigInt(`0x${jose.subarray(curve.bytes).toString('hex')}`);
  if (s <= curve.order >> 1n) return jose;
  const twin = Buffer.from((curve.order - s).toString(16).padStart(curve.bytes * 2, '0'), 'hex');
  return Buffer.concat([jose.subarray(0, curve.bytes), twin]);
}

/** A compact JWS signed elsewhere (jose, WebCrypto) with its ES256 signature made low-s. */
export function lowSCompactJws(jws: string, alg: string): string {
  if (alg !== 'ES256') return jws;
  const dot = jws.lastIndexOf('.');
  const signature = Buffer.from(jws.slice(dot + 1), 'base64url');
  return `${jws.slice(0, dot + 1)}${lowS(signature, P256).toString('base64url')}`;
}
