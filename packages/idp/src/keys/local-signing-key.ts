import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import { ExternalSigningKey } from 'oidc-provider';
import { type EcdsaCurve, ecdsaDerToJose, lowS, P256 } from './ecdsa-signature.ts';

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
 * DER signature and converts it here (ecdsa-signature.ts), s made low: `dsaEncoding: 'ieee-p1363'`
 * does the same conversion but costs twice the whole signature (about 60 against 30 µs here).
 */
const SCHEMES: Record<string, { digest: string | null; ecdsa?: EcdsaCurve }> = {
  ES256: { digest: 'sha256', ecdsa: P256 },
  EdDSA: { digest: null },
};

export class LocalSigningKey extends ExternalSigningKey {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #scheme: { digest: string | null; ecdsa?: EcdsaCurve };
  readonly #kid: string;
  readonly #alg: string;

  constructor(jwk: JWK & { kid: string; alg: string }) {
    super();
    const scheme = SCHEMES[jwk.alg];
    if (!scheme) throw new Error(`no local signing for ${jwk.alg}`);
    this.#scheme = scheme;
    this.#privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    this.#publicKey = createPublicKey(this.#privateKey);
    this.#kid = jwk.kid;
    this.#alg = jwk.alg;
  }

  // The declared accessors of ExternalSigningKey, overridden (rather than set through setters its
  // declaration does not have).
  override get kid(): string {
    return this.#kid;
  }

  override get alg(): string {
    return this.#alg;
  }

  /** The public half: what oidc-provider publishes and verifies its own JWTs (id_token_hint) with. */
  override keyObject(): KeyObject {
    return this.#publicKey;
  }

  override async sign(data: Buffer): Promise<Buffer> {
    const { digest, ecdsa } = this.#scheme;
    const signature = sign(digest, data, this.#privateKey);
    return ecdsa ? lowS(ecdsaDerToJose(signature, ecdsa.bytes), ecdsa) : signature;
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
