import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type AssertionInput, createAssertionSigner } from '@gatehouse/sdk';
import { calculateJwkThumbprint, exportJWK, type JSONWebKeySet } from 'jose';
import { gatewayErrors } from '../errors.ts';

/**
 * The gateway's own signing key for `X-Gatehouse-Assertion` (docs/sdk/gateway-trust.md): read from
 * a PKCS#8 PEM file, or generated at start. A generated key lives as long as the process, so with
 * several replicas give them one key file: a service that fetched one replica's JWKS would refuse
 * another's assertions. Only the public half is ever published, at `/_gatehouse/jwks`.
 */
export interface AssertionKey {
  readonly kid: string;
  /** `{ keys: [publicJwk] }`, served at `/_gatehouse/jwks`. */
  readonly jwks: JSONWebKeySet;
  sign(input: AssertionInput): Promise<string>;
}

export interface AssertionKeyConfig {
  keyFile?: string;
  issuer: string;
  ttlSec: number;
}

function loadPrivateKey(keyFile: string | undefined): KeyObject {
  if (keyFile === undefined) return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const key = createPrivateKey(readFileSync(keyFile));
  // ES256 only: the algorithm every service accepts by default, and the one the key was made for.
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw gatewayErrors.create(
      'GW_CONFIG_INVALID',
      `gateway.assertion.keyFile ${keyFile}: an ECDSA P-256 private key is required`,
    );
  }
  return key;
}

export async function loadAssertionKey(config: AssertionKeyConfig): Promise<AssertionKey> {
  const privateKey = loadPrivateKey(config.keyFile);
  const publicJwk = await exportJWK(createPublicKey(privateKey));
  // The RFC 7638 thumbprint: the same key file gives every replica the same kid.
  const kid = await calculateJwkThumbprint(publicJwk);
  const signer = createAssertionSigner({
    issuer: config.issuer,
    privateKey,
    kid,
    alg: 'ES256',
    ttlSec: config.ttlSec,
  });
  return {
    kid,
    jwks: { keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] },
    sign: (input) => signer.sign(input),
  };
}

/** The `aud` of a route's assertion: its configured audience, else the route id. */
export function assertionAudience(route: {
  id: string;
  assertion?: boolean | { audience: string };
}): string | undefined {
  if (!route.assertion) return undefined;
  return route.assertion === true ? route.id : route.assertion.audience;
}
