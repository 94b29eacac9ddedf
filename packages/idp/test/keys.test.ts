import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrate, openSql, silentLogger } from '@gatehouse/core';
import { openTestState } from '@gatehouse/core/testing';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEV_KEY_ENCRYPTION_SECRET } from '../src/config-schema.ts';
import { createIdp, idpMigrations } from '../src/index.ts';
import { listKeys, retirementSeconds, rotateKeys } from '../src/keys/keys.ts';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { idpConfig, startIdp, type TestIdp } from './idp-harness.ts';

const basic = `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`;

async function serviceToken(t: TestIdp): Promise<string> {
  const res = await fetch(`${t.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function jwks(t: TestIdp): Promise<{ keys: Array<Record<string, string>> }> {
  const res = await fetch(`${t.issuer}/jwks`);
  assert.equal(res.status, 200);
  return (await res.json()) as { keys: Array<Record<string, string>> };
}

async function introspect(t: TestIdp, token: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${t.issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  return (await res.json()) as Record<string, unknown>;
}

/** The keys of `signingAlgorithm`, not the RSA ones kept for RS256 ID tokens. */
const isMain = (k: { alg?: unknown }) => k.alg !== 'RS256';

describe('signing keys', () => {
  let t: TestIdp;
  before(async () => {
    t = await startIdp();
  });
  after(() => t?.close());

  test('private keys are stored encrypted: no private JWK member appears in the table', async () => {
    const rows = await t.sql.query<{ public_jwk: Record<string, string>; private_jwk_encrypted: Buffer }>(
      'select public_jwk, private_jwk_encrypted from idp_signing_keys',
    );
    assert.equal(rows.length, 4, 'active and next, ES256 and RSA');
    const d = t.idp.keys.current().active.d!;
    for (const row of rows) {
      assert.equal(row.public_jwk['d'], undefined);
      assert.ok(Buffer.isBuffer(row.private_jwk_encrypted));
      assert.ok(!row.private_jwk_encrypted.toString('latin1').includes(d));
      assert.ok(!row.private_jwk_encrypted.toString('latin1').includes('"kty"'));
    }
  });

  test('the next key is published before it signs, and signs after a rotation', async () => {
    const before = (await listKeys(t.sql)).filter(isMain);
    const next = before.find((k) => k.state === 'next')!;
    const active = before.find((k) => k.state === 'active')!;
    assert.ok(
      (await jwks(t)).keys.some((k) => k.kid === next.kid),
      'next key already in the JWKS',
    );
    assert.equal(decodeProtectedHeader(await serviceToken(t)).kid, active.kid, 'the active key signs');

    const oldToken = await serviceToken(t);
    const result = await t.idp.keys.rotate();
    assert.equal(result.activated, next.kid);
    assert.equal(result.retired, active.kid);

    const after = await listKeys(t.sql);
    assert.equal(after.find((k) => k.kid === next.kid)!.state, 'active');
    const retired = after.find((k) => k.kid === active.kid)!;
    assert.equal(retired.state, 'retired');
    const window = (retired.notAfter!.getTime() - retired.retiredAt!.getTime()) / 1000;
    assert.equal(Math.round(window), retirementSeconds(t.idp.runtime.config));
    assert.equal(
      after.filter((k) => k.state === 'next' && isMain(k)).length,
      1,
      'a new next key is published',
    );
    const rsa = after.filter((k) => k.alg === 'RS256');
    assert.deepEqual(
      rsa.map((k) => k.state).sort(),
      ['active', 'next', 'retired'],
      'the RSA keys rotate too',
    );

    const newToken = await serviceToken(t);
    assert.equal(decodeProtectedHeader(newToken).kid, next.kid);

    // The token signed before the rotation still verifies against the published keys, and is active.
    const published = await jwks(t);
    assert.equal(published.keys.length, 6, 'active, next and retired, ES256 and RSA');
    const { payload } = await jwtVerify(oldToken, createLocalJWKSet(published), { issuer: t.issuer });
    assert.equal(payload.sub, 'demo-service');
    assert.equal((await introspect(t, oldToken))['active'], true);
  });

  test('a retired key leaves the JWKS once every token it signed has expired', async () => {
    const retired = (await listKeys(t.sql)).find((k) => k.state === 'retired')!;
    // Stand in for the passing of time: move its end of publication into the past.
    await t.sql.query(`update idp_signing_keys set not_after = now() - interval '1 second' where kid = $1`, [
      retired.kid,
    ]);
    assert.equal(await t.idp.keys.reload(), true);
    assert.ok(!(await jwks(t)).keys.some((k) => k.kid === retired.kid));
  });

  test('a scheduled rotation does nothing while the active key is younger than keyRotationDays', async () => {
    const r = await rotateKeys(t.sql, t.idp.runtime.config, { ifOlderThanDays: 30 });
    assert.deepEqual(r, { rotated: false, activated: null, retired: null });
  });
});

describe('two replicas on one database', () => {
  test('a rotation by one replica reaches the other at its next key reload', async () => {
    const a = await startIdp();
    const b = await startIdp({ sql: a.sql });
    try {
      const rotated = await a.idp.keys.rotate();
      assert.equal(await b.idp.keys.reload(), true);
      const kidsA = (await jwks(a)).keys.map((k) => k.kid).sort();
      assert.deepEqual((await jwks(b)).keys.map((k) => k.kid).sort(), kidsA);
      assert.equal(decodeProtectedHeader(await serviceToken(b)).kid, rotated.activated);
    } finally {
      await b.stop();
      await a.close();
    }
  });
});

describe('scheduled rotation', () => {
  test('a start finds an active key older than keyRotationDays and rotates it', async () => {
    const first = await startIdp({ config: { keyRotationDays: 30 } });
    try {
      const before = (await listKeys(first.sql)).filter(isMain);
      const active = before.find((k) => k.state === 'active')!;
      const next = before.find((k) => k.state === 'next')!;
      await first.sql.query(
        `update idp_signing_keys set activated_at = now() - interval '31 days' where kid = $1`,
        [active.kid],
      );
      const second = await startIdp({ sql: first.sql, config: { keyRotationDays: 30 } });
      try {
        const after = await listKeys(first.sql);
        assert.equal(after.find((k) => k.kid === active.kid)!.state, 'retired');
        assert.equal(after.find((k) => k.kid === next.kid)!.state, 'active');
        assert.equal(decodeProtectedHeader(await serviceToken(second)).kid, next.kid);
      } finally {
        await second.stop();
      }
    } finally {
      await first.close();
    }
  });
});

describe('signing key configuration', () => {
  test('EdDSA can be selected', async () => {
    const t = await startIdp({ config: { signingAlgorithm: 'EdDSA' } });
    try {
      const header = decodeProtectedHeader(await serviceToken(t));
      assert.equal(header.alg, 'EdDSA');
      const keys = (await jwks(t)).keys;
      assert.ok(keys.filter(isMain).every((k) => k['kty'] === 'OKP' && k['crv'] === 'Ed25519'));
    } finally {
      await t.close();
    }
  });

  test('production mode refuses the development key-encryption secret', async () => {
    const sql = await openSql({ driver: 'pglite' });
    const state = await openTestState('memory');
    try {
      await migrate(sql, [idpMigrations]);
      await assert.rejects(
        createIdp({
          config: idpConfig({ keyEncryptionSecret: DEV_KEY_ENCRYPTION_SECRET }),
          sql,
          state: state.state,
          logger: silentLogger(),
          mode: 'production',
          publicUrl: 'https://id.example.com',
          autoload: false,
        }),
        { code: 'IDP_DEV_SECRET_IN_PRODUCTION' },
      );
    } finally {
      await state.cleanup();
      await sql.close();
    }
  });
});

describe('production mode', () => {
  test('an http issuer is refused in production', async () => {
    const sql = await openSql({ driver: 'pglite' });
    const state = await openTestState('memory');
    try {
      await migrate(sql, [idpMigrations]);
      await assert.rejects(
        createIdp({
          config: idpConfig({ keyEncryptionSecret: 'a-production-secret-that-is-long-enough' }),
          sql,
          state: state.state,
          logger: silentLogger(),
          mode: 'production',
          publicUrl: 'http://id.example.com',
          autoload: false,
        }),
        {
          code: 'IDP_CONFIG_INVALID',
          message: 'the issuer must be an https URL in production (got http://id.example.com/auth)',
        },
      );
    } finally {
      await state.cleanup();
      await sql.close();
    }
  });
});

describe('restart on a PGlite data folder', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-idp-keys-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('keys and clients created before a restart are still there after it', async () => {
    // The restarted server listens on another port, hence another issuer: tokens are checked
    // against the first one's.
    const secret = 'a-test-key-encryption-secret-of-enough-length';
    let sql = await openSql({ driver: 'pglite', dataDir: dir });
    await migrate(sql, [idpMigrations]);
    let t = await startIdp({ sql, config: { keyEncryptionSecret: secret } });
    await upsertClient(
      sql,
      clientMetadataFromConfig({
        clientId: 'restart-service',
        clientSecret: 'restart-service-secret-value',
        tokenEndpointAuthMethod: 'client_secret_post',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        postLogoutRedirectUris: [],
        scope: '',
        roles: ['worker'],
        firstParty: false,
      }),
      'admin',
    );
    const token = await serviceToken(t);
    const issuerBefore = t.issuer;
    const kidsBefore = (await jwks(t)).keys.map((k) => k.kid).sort();
    await t.stop();
    await sql.close();

    sql = await openSql({ driver: 'pglite', dataDir: dir });
    let restarted: TestIdp | undefined;
    try {
      await assert.rejects(startIdp({ sql, config: { keyEncryptionSecret: `${secret}-but-another` } }), {
        code: 'IDP_KEY_DECRYPT_FAILED',
      });
      t = await startIdp({ sql, config: { keyEncryptionSecret: secret } });
      restarted = t;
      assert.deepEqual((await jwks(t)).keys.map((k) => k.kid).sort(), kidsBefore);
      const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks(t)), { issuer: issuerBefore });
      assert.equal(payload.sub, 'demo-service');
      const res = await fetch(`${t.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=restart-service&client_secret=restart-service-secret-value',
      });
      assert.equal(res.status, 200);
    } finally {
      await restarted?.stop();
      await sql.close();
    }
  });
});
