import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Sql, SqlTx } from '@gatehouse/core';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import type { IdpConfig } from '../config-schema.ts';
import { idpErrors } from '../errors.ts';

/**
 * Signing keys, stored in SQL with the private half encrypted at rest.
 *
 * Life of a key: `next` (in the JWKS, not signing) → `active` (signs) → `retired` (in the JWKS until
 * `not_after`, when every token it signed has expired) → deleted. There is always a `next` key, so a
 * rotation promotes a key that verifiers could already fetch, and no token is ever signed by a key
 * that was not published first.
 */

export type KeyState = 'next' | 'active' | 'retired';
export type SigningAlgorithm = IdpConfig['signingAlgorithm'];

/**
 * RSA keys sign only the ID tokens of clients that ask for RS256 (`id_token_signed_response_alg`):
 * OpenID Connect Discovery requires RS256 among the ID token algorithms, and many relying parties
 * accept nothing else. They live beside the keys of `signingAlgorithm` (which sign everything else)
 * with the same life cycle: one `next`, one `active`, retired ones published until they expire,
 * rotated together.
 */
export const RSA_ID_TOKEN_ALGORITHM = 'RS256';
type KeyAlgorithm = SigningAlgorithm | typeof RSA_ID_TOKEN_ALGORITHM;

/** The keys that live and rotate together with a key of `alg`: the RSA ones, or all the others. */
const sameFamily =
  (alg: KeyAlgorithm) =>
  (r: { alg: string }): boolean =>
    (r.alg === RSA_ID_TOKEN_ALGORITHM) === (alg === RSA_ID_TOKEN_ALGORITHM);
const FAMILY_SQL = `(alg = '${RSA_ID_TOKEN_ALGORITHM}') = $1`;

export interface SigningKeyInfo {
  kid: string;
  alg: string;
  state: KeyState;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
  notAfter: Date | null;
}

export interface KeyRing {
  /** The active key of `signingAlgorithm` (private JWK with kid, alg, use); never the RSA ID-token key. */
  active: JWK;
  /** Private JWKs for oidc-provider, active ones first (it signs with the first key of the algorithm). */
  privateJwks: { keys: JWK[] };
  /** What `<issuer>/jwks` publishes: public halves of next, active and unexpired retired keys. */
  publicJwks: { keys: JWK[] };
  /** Changes whenever the set of keys or their states change. */
  fingerprint: string;
  infos: SigningKeyInfo[];
}

type KeysConfig = Pick<
  IdpConfig,
  | 'signingAlgorithm'
  | 'keyEncryptionSecret'
  | 'accessTokenTtlSeconds'
  | 'idTokenTtlSeconds'
  | 'sessionTtlSeconds'
  | 'keyReloadSeconds'
  | 'clockToleranceSeconds'
  | 'keyRotationDays'
>;

interface KeyRow {
  kid: string;
  alg: string;
  state: KeyState;
  public_jwk: JWK;
  private_jwk_encrypted: Buffer;
  created_at: Date;
  activated_at: Date | null;
  retired_at: Date | null;
  not_after: Date | null;
}

const LOCK = "select pg_advisory_xact_lock(hashtext('gatehouse:idp_signing_keys'))";

/** AES-256-GCM key from the configured secret via HKDF-SHA256 (node:crypto primitives, no custom crypto). */
function wrappingKey(secret: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', secret, 'gatehouse-idp', 'signing-key-encryption/aes-256-gcm/v1', 32),
  );
}

/** iv (12) || tag (16) || ciphertext; the kid is authenticated data, so a row cannot be swapped. */
export function encryptPrivateJwk(jwk: JWK, kid: string, secret: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey(secret), iv);
  cipher.setAAD(Buffer.from(kid));
  const body = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

export function decryptPrivateJwk(blob: Buffer, kid: string, secret: string): JWK {
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrappingKey(secret), blob.subarray(0, 12));
    decipher.setAAD(Buffer.from(kid));
    decipher.setAuthTag(blob.subarray(12, 28));
    const clear = Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
    return JSON.parse(clear.toString('utf8')) as JWK;
  } catch (cause) {
    throw idpErrors.create('IDP_KEY_DECRYPT_FAILED', undefined, { details: { kid }, cause });
  }
}

async function generate(alg: KeyAlgorithm): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const priv = await exportJWK(privateKey);
  return {
    kid,
    privateJwk: { ...priv, kid, alg, use: 'sig' },
    publicJwk: { ...pub, kid, alg, use: 'sig' },
  };
}

async function insertKey(tx: SqlTx, alg: KeyAlgorithm, state: 'next' | 'active', secret: string) {
  const { kid, privateJwk, publicJwk } = await generate(alg);
  await tx.query(
    `insert into idp_signing_keys (kid, alg, state, public_jwk, private_jwk_encrypted, activated_at)
     values ($1, $2, $3, $4::jsonb, $5, ${state === 'active' ? 'now()' : 'null'})`,
    [kid, alg, state, JSON.stringify(publicJwk), encryptPrivateJwk(privateJwk, kid, secret)],
  );
  return kid;
}

/** How long a retired key stays published: the longest-lived token it can have signed, plus slack. */
export function retirementSeconds(config: KeysConfig): number {
  return (
    Math.max(config.accessTokenTtlSeconds, config.idTokenTtlSeconds, config.sessionTtlSeconds) +
    config.keyReloadSeconds +
    config.clockToleranceSeconds
  );
}

async function selectRows(q: SqlTx): Promise<KeyRow[]> {
  return q.query<KeyRow>(
    `select kid, alg, state, public_jwk, private_jwk_encrypted, created_at, activated_at, retired_at, not_after
     from idp_signing_keys
     where state <> 'retired' or not_after > now()
     order by case state when 'active' then 0 when 'next' then 1 else 2 end, created_at desc`,
  );
}

async function promote(
  tx: SqlTx,
  config: KeysConfig,
  alg: KeyAlgorithm = config.signingAlgorithm,
): Promise<{ activated: string; retired: string | null }> {
  const rows = (await selectRows(tx)).filter(sameFamily(alg));
  const active = rows.find((r) => r.state === 'active');
  const next = rows.find((r) => r.state === 'next' && r.alg === alg);
  let activated: string;
  if (active) {
    await tx.query(
      `update idp_signing_keys set state = 'retired', retired_at = now(),
         not_after = now() + make_interval(secs => $2) where kid = $1`,
      [active.kid, retirementSeconds(config)],
    );
  }
  if (next) {
    await tx.query(`update idp_signing_keys set state = 'active', activated_at = now() where kid = $1`, [
      next.kid,
    ]);
    activated = next.kid;
  } else {
    // No published successor (first start, or the algorithm changed): nothing signed yet can be
    // verified with a key that does not exist, so a fresh active key is safe.
    activated = await insertKey(tx, alg, 'active', config.keyEncryptionSecret);
  }
  // A next key of another algorithm is useless after an algorithm change.
  await tx.query(`delete from idp_signing_keys where state = 'next' and ${FAMILY_SQL}`, [
    alg === RSA_ID_TOKEN_ALGORITHM,
  ]);
  await insertKey(tx, alg, 'next', config.keyEncryptionSecret);
  await tx.query(`delete from idp_signing_keys where state = 'retired' and not_after <= now()`);
  return { activated, retired: active?.kid ?? null };
}

/** Whether the family of `alg` has an active and a next key of that algorithm. */
function familyReady(rows: KeyRow[], alg: KeyAlgorithm): boolean {
  const family = rows.filter(sameFamily(alg));
  return (
    family.find((r) => r.state === 'active')?.alg === alg &&
    family.find((r) => r.state === 'next')?.alg === alg
  );
}

/**
 * Make sure an active key of the configured algorithm and a next key exist (first start, or the
 * algorithm changed), and the same for the RSA ID-token keys. Safe to run from several replicas at
 * once: the work happens under a lock.
 */
export async function ensureKeys(sql: Sql, config: KeysConfig): Promise<void> {
  const algorithms: KeyAlgorithm[] = [config.signingAlgorithm, RSA_ID_TOKEN_ALGORITHM];
  const rows = await selectRows(sql);
  if (algorithms.every((alg) => familyReady(rows, alg))) return;
  await sql.transaction(async (tx) => {
    await tx.query(LOCK);
    for (const alg of algorithms) {
      const again = await selectRows(tx);
      if (familyReady(again, alg)) continue;
      if (again.filter(sameFamily(alg)).find((r) => r.state === 'active')?.alg !== alg) {
        await promote(tx, config, alg);
        continue;
      }
      await tx.query(`delete from idp_signing_keys where state = 'next' and ${FAMILY_SQL}`, [
        alg === RSA_ID_TOKEN_ALGORITHM,
      ]);
      await insertKey(tx, alg, 'next', config.keyEncryptionSecret);
    }
  });
}

/**
 * Rotate: the next key (published since the last rotation) becomes active, the active key retires
 * and stays published for `retirementSeconds`, and a new next key is published. With `ifOlderThanDays`
 * it rotates only when the active key is at least that old (the scheduled rotation; replicas that
 * check at the same time rotate once).
 */
export async function rotateKeys(
  sql: Sql,
  config: KeysConfig,
  options: { ifOlderThanDays?: number } = {},
): Promise<{ rotated: boolean; activated: string | null; retired: string | null }> {
  return sql.transaction(async (tx) => {
    await tx.query(LOCK);
    if (options.ifOlderThanDays !== undefined) {
      // The families rotate together: any active key that old makes them all due.
      const due = await tx.query(
        `select 1 from idp_signing_keys where state = 'active'
         and activated_at <= now() - make_interval(days => $1)`,
        [options.ifOlderThanDays],
      );
      if (due.length === 0) return { rotated: false, activated: null, retired: null };
    }
    const { activated, retired } = await promote(tx, config);
    await promote(tx, config, RSA_ID_TOKEN_ALGORITHM);
    return { rotated: true, activated, retired };
  });
}

/** Every stored key, newest first (no private material). */
export async function listKeys(sql: Sql): Promise<SigningKeyInfo[]> {
  const rows = await sql.query<KeyRow>(
    `select kid, alg, state, created_at, activated_at, retired_at, not_after
     from idp_signing_keys order by created_at desc`,
  );
  return rows.map(toInfo);
}

function toInfo(
  r: Pick<KeyRow, 'kid' | 'alg' | 'state' | 'created_at' | 'activated_at' | 'retired_at' | 'not_after'>,
) {
  return {
    kid: r.kid,
    alg: r.alg,
    state: r.state,
    createdAt: r.created_at,
    activatedAt: r.activated_at,
    retiredAt: r.retired_at,
    notAfter: r.not_after,
  };
}

/** Read and decrypt the published keys. Throws IDP_NO_SIGNING_KEY when there is no active key. */
export async function loadKeyRing(
  sql: Sql,
  config: Pick<KeysConfig, 'keyEncryptionSecret'>,
): Promise<KeyRing> {
  const rows = await selectRows(sql);
  // The RSA ID-token key never signs access or session tokens.
  const activeRow = rows.find((r) => r.state === 'active' && r.alg !== RSA_ID_TOKEN_ALGORITHM);
  if (!activeRow) throw idpErrors.create('IDP_NO_SIGNING_KEY');
  const privateJwks = rows.map((r) => {
    const jwk = decryptPrivateJwk(r.private_jwk_encrypted, r.kid, config.keyEncryptionSecret);
    return { ...jwk, kid: r.kid, alg: r.alg, use: 'sig' };
  });
  return {
    active: privateJwks.find((k) => k.kid === activeRow.kid)!,
    privateJwks: { keys: privateJwks },
    publicJwks: { keys: rows.map((r) => r.public_jwk) },
    fingerprint: rows.map((r) => `${r.kid}:${r.state}`).join(','),
    infos: rows.map(toInfo),
  };
}

export interface KeyManager {
  /** The keys loaded last. */
  current(): KeyRing;
  /** The public JWKS (what `<issuer>/jwks` serves). */
  publicJwks(): { keys: JWK[] };
  /** A jose key resolver over the published keys, for verifying our own JWTs. */
  verifier(): JWTVerifyGetKey;
  /** The active signing key, for JWTs signed outside oidc-provider (the first-party session). */
  signingKey(): Promise<{ kid: string; alg: string; key: CryptoKey }>;
  /** Re-read the keys; resolves true when they changed (and `onChange` ran). */
  reload(): Promise<boolean>;
  /** Rotate now (the `gatehouse keys rotate` verb), then reload. */
  rotate(): Promise<{ activated: string | null; retired: string | null }>;
  list(): Promise<SigningKeyInfo[]>;
}

export async function createKeyManager(
  sql: Sql,
  config: KeysConfig,
  onChange: (ring: KeyRing) => void | Promise<void>,
): Promise<KeyManager> {
  await ensureKeys(sql, config);
  let ring = await loadKeyRing(sql, config);
  let resolver = createLocalJWKSet(ring.publicJwks);
  let signing: { kid: string; alg: string; key: CryptoKey } | undefined;

  async function reload(): Promise<boolean> {
    const next = await loadKeyRing(sql, config);
    if (next.fingerprint === ring.fingerprint) return false;
    ring = next;
    resolver = createLocalJWKSet(ring.publicJwks);
    signing = undefined;
    await onChange(ring);
    return true;
  }

  return {
    current: () => ring,
    publicJwks: () => ring.publicJwks,
    verifier: () => resolver,
    async signingKey() {
      if (!signing || signing.kid !== ring.active.kid) {
        const { kid, alg } = ring.active as { kid: string; alg: string };
        signing = { kid, alg, key: (await importJWK(ring.active, alg)) as CryptoKey };
      }
      return signing;
    },
    reload,
    async rotate() {
      const result = await rotateKeys(sql, config);
      await reload();
      return { activated: result.activated, retired: result.retired };
    },
    list: () => listKeys(sql),
  };
}
