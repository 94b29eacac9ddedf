import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger, migrate } from '@gatehouse/core';
import { openTestSql, type TestSql } from '@gatehouse/core/testing';
import { createVerifier } from '@gatehouse/sdk';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { authzMigrations, createAuthz, createAuthzService } from '../src/index.ts';

// Administrators' tokens (the admin console's, meant for the admin API): accepted for read and write
// when the option is on and the person holds the role, refused otherwise.
const ISSUER = 'https://idp.test/auth';
const AUDIENCE = 'https://authz.test';
const ADMIN_API = 'https://gatehouse.test';

describe('authz service: administrators with the admin API token', () => {
  let db: TestSql;
  const servers: Server[] = [];
  let withAdmins = '';
  let withoutAdmins = '';
  let storeId = '';
  let sign: (claims: Record<string, unknown>) => Promise<string>;
  const audit: Record<string, unknown>[] = [];

  before(async () => {
    db = await openTestSql('pglite');
    await migrate(db.sql, [authzMigrations]);
    const authz = createAuthz({ sql: db.sql });
    storeId = (await authz.createStore({ name: 'admins test' })).id;
    await authz.writeAuthorizationModel(storeId, {
      dsl: 'model\n  schema 1.1\ntype user\ntype document\n  relations\n    define viewer: [user]\n',
    });
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    sign = (claims) =>
      new SignJWT({
        iss: ISSUER,
        aud: ADMIN_API,
        sub: 'person-1',
        client_id: 'gatehouse-console',
        jti: crypto.randomUUID(),
        scope: 'openid profile',
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => {
      for (const l of chunk.toString().split('\n').filter(Boolean)) {
        const line = JSON.parse(l) as Record<string, unknown>;
        if (line['audit'] === 'authz') audit.push(line);
      }
    });
    const getKey = createLocalJWKSet({ keys: [jwk] });
    const start = async (admins: boolean) => {
      const handler = createAuthzService({
        authz,
        logger: createLogger({ level: 'info', destination: out }),
        verifier: createVerifier({ issuer: ISSUER, audiences: [AUDIENCE], getKey }),
        readScope: 'authz:read',
        writeScope: 'authz:write',
        ...(admins
          ? {
              admins: {
                verifier: createVerifier({ issuer: ISSUER, audiences: [ADMIN_API], getKey }),
                role: 'admin',
              },
            }
          : {}),
        baseUrl: 'https://pdp.test/authz',
        decisionSampleRate: 1,
      });
      const server = createServer((req, res) => void handler(req, res));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    withAdmins = await start(true);
    withoutAdmins = await start(false);
  });
  after(async () => {
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
    await db?.cleanup();
  });

  async function post(base: string, path: string, body: unknown, token: string) {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const write = (base: string, token: string, user: string) =>
    post(
      base,
      `/stores/${storeId}/write`,
      { writes: { tuple_keys: [{ user, relation: 'viewer', object: 'document:plan' }] } },
      token,
    );
  const check = (base: string, token: string, user: string) =>
    post(
      base,
      `/stores/${storeId}/check`,
      { tuple_key: { user, relation: 'viewer', object: 'document:plan' } },
      token,
    );

  test('a token for the admin API with the admin role reads and writes; the audit names the person', async () => {
    const token = await sign({ roles: ['user', 'admin'] });
    const written = await write(withAdmins, token, 'user:anne');
    assert.equal(written.status, 200);
    const checked = await check(withAdmins, token, 'user:anne');
    assert.equal(checked.status, 200);
    assert.equal(checked.body['allowed'], true);
    const change = audit.find((l) => l['kind'] === 'change' && l['operation'] === 'write');
    assert.deepEqual(change?.['caller'], { sub: 'person-1', clientId: 'gatehouse-console' });
  });

  test('without the role: 403, and nothing is written', async () => {
    const token = await sign({ roles: ['user'] });
    const written = await write(withAdmins, token, 'user:mallory');
    assert.equal(written.status, 403);
    assert.equal(written.body['code'], 'forbidden');
    const admin = await sign({ roles: ['admin'] });
    assert.equal((await check(withAdmins, admin, 'user:mallory')).body['allowed'], false);
  });

  test('a service token for the admin API is no administrator, even with the role: 401', async () => {
    const token = await sign({ roles: ['admin'], sub: 'ops-bot', client_id: 'ops-bot' });
    assert.equal((await write(withAdmins, token, 'user:mallory')).status, 401);
  });

  test('with the role but another audience: 401', async () => {
    const token = await sign({ roles: ['admin'], aud: 'https://elsewhere.test' });
    assert.equal((await write(withAdmins, token, 'user:mallory')).status, 401);
    assert.equal((await check(withAdmins, token, 'user:anne')).status, 401);
  });

  test('with the option off, an admin token for the admin API is refused: 401', async () => {
    const token = await sign({ roles: ['admin'] });
    assert.equal((await write(withoutAdmins, token, 'user:mallory')).status, 401);
    assert.equal((await check(withoutAdmins, token, 'user:anne')).status, 401);
  });

  test('service tokens still work beside it, with their scopes', async () => {
    const service = await sign({ aud: AUDIENCE, sub: 'svc', client_id: 'svc', scope: 'authz:read' });
    assert.equal((await check(withAdmins, service, 'user:anne')).body['allowed'], true);
    assert.equal((await write(withAdmins, service, 'user:mallory')).status, 403);
  });
});
