import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { ExternalSigningKey } from 'oidc-provider';

/**
 * oidc-provider signs a JWT (access token, ID token) through jose and WebCrypto, which queues every
 * signature as a job on libuv's thread pool: with the hand-over to that thread and back, an ES256
 * signature cost about 120 µs of CPU here (one at a time), against about 30 µs with `node:crypto` on
 * the calling thread (a refresh signs twice, an ID token and an access token). The JWT is the same
 * (same protected header, payload and signature scheme), and so is the published JWKS
 * (oidc-provider builds it from the key's public half).
 *
 * oidc-provider's way to sign elsewhere than with a private JWK is its `ExternalSigningKey`, behind
 * the experimental feature `externalSigningSupport` (acknowledged as `experimental-01` in
 * provider.ts): should a later oidc-provider change that version, it refuses to start rather than
 * sign differently, and `localSigningKeys` can be dropped to return to the private JWKs.
 */

/**
 * How `node:crypto` signs for each JWS algorithm Gatehouse's keys use (keys.ts). ES256 asks for the
 * DER signature and converts it here: `dsaEncoding: 'ieee-p1363'` does the same conversion but costs
 * twice the whole signature (about 60 against 30 µs here).
 */
const SCHEMES: Record<string, { digest: string | null; ecdsaBytes?: number }> = {
  ES256: { digest: 'sha256', ecdsaBytes: 32 },
  EdDSA: { digest: null },
};

/**
 * An ECDSA signature from DER (`SEQUENCE { INTEGER r, INTEGER s }`) to JWS's form (RFC 7518 3.4):
 * r and s as unsigned big-endian integers of `n` bytes each, concatenated.
 */
export function ecdsaDerToJose(der: Buffer, n: number): Buffer {
  const fail = () => new Error('malformed ECDSA signature');
  if (der[0] !== 0x30) throw fail();
  // The sequence's length: short form, or long form with one length byte (P-256 needs neither).
  let offset = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
  const out = Buffer.alloc(2 * n);
  for (let part = 0; part < 2; part++) {
    if (der[offset] !== 0x02) throw fail();
    const length = der[offset + 1]!;
    let value = der.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    // DER prefixes a 0x00 when the high bit is set, and drops leading zero bytes.
    while (value.length > n && value[0] === 0) value = value.subarray(1);
    if (value.length > n || value.length === 0) throw fail();
    value.copy(out, part * n + n - value.length);
  }
  return out;
}

export class LocalSigningKey extends ExternalSigningKey {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #scheme: { digest: string | null; ecdsaBytes?: number };

  constructor(jwk: JWK & { kid: string; alg: string }) {
    super();
    const scheme = SCHEMES[jwk.alg];
    if (!scheme) throw new Error(`no local signing for ${jwk.alg}`);
    this.#scheme = scheme;
    this.#privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    this.#publicKey = createPublicKey(this.#privateKey);
    // oidc-provider's declared read-only accessors have setters for exactly this.
    (this as { kid: string }).kid = jwk.kid;
    (this as { alg: string }).alg = jwk.alg;
  }

  /** The public half: what oidc-provider publishes and verifies its own JWTs (id_token_hint) with. */
  override keyObject(): KeyObject {
    return this.#publicKey;
  }

  override async sign(data: Buffer): Promise<Buffer> {
    const { digest, ecdsaBytes } = this.#scheme;
    const signature = sign(digest, data, this.#privateKey);
    return ecdsaBytes ? ecdsaDerToJose(signature, ecdsaBytes) : signature;
  }
}

/**
 * The key ring's private JWKs for oidc-provider's `jwks`, each as a LocalSigningKey; a key of an
 * algorithm without a local scheme stays a JWK (signed through jose as before).
 */
export function localSigningKeys(jwks: { keys: JWK[] }): { keys: Array<LocalSigningKey | JWK> } {
  return {
    keys: jwks.keys.map((jwk) =>
      typeof jwk.kid === 'string' && typeof jwk.alg === 'string' && jwk.alg in SCHEMES
        ? new LocalSigningKey(jwk as JWK & { kid: string; alg: string })
        : jwk,
    ),
  };
}
