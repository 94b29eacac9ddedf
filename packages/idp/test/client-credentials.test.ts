import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import { deleteClient, hashClientSecret, rotateClientSecret, upsertClient } from '../src/protocol/clients.ts';
import { startIdp, type TestIdp } from './idp-harness.ts';

const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('client credentials', () => {
  let t: TestIdp;
  let tokenUrl: string;
  let signer: CryptoKey;

  before(async () => {
    t = await startIdp({ config: { resources: ['https://reports.example.com'] } });
    tokenUrl = `${t.issuer}/token`;
    const pair = await generateKeyPair('ES256');
    signer = pair.privateKey;
    await upsertClient(
      t.sql,
      {
        client_id: 'jwt-service',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] },
        roles: ['reports'],
        first_party: false,
      },
      'admin',
    );
  });
  after(() => t?.close());

  test('client_secret_basic returns a JWT access token with typ at+jwt and the contract claims', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic('demo-service', 'demo-service-secret'), 'content-type': form },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 600);
    const header = decodeProtectedHeader(body.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${t.issuer}/jwks`)), {
      issuer: t.issuer,
      audience: t.origin,
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, 'demo-service');
    assert.equal(payload['client_id'], 'demo-service');
    assert.deepEqual(payload['roles'], ['service']);
    assert.equal(typeof payload.jti, 'string');
    assert.equal(payload.exp! - payload.iat!, 600);
    assert.equal(payload['username'], undefined);
    assert.equal(payload['sid'], undefined);
  });

  test('a client whose roles change gets the new roles in its next token', async () => {
    const metadata = {
      client_id: 'roles-service',
      client_secret: hashClientSecret('roles-service-secret'),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      roles: ['reader'],
      first_party: false,
    };
    const roles = async () => {
      const res = await fetch(tokenUrl, {
        method: 'POST',
        headers: { authorization: basic('roles-service', 'roles-service-secret'), 'content-type': form },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200);
      const { access_token } = (await res.json()) as { access_token: string };
      return JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString())['roles'];
    };
    await upsertClient(t.sql, metadata, 'admin');
    assert.deepEqual(await roles(), ['reader']);
    assert.deepEqual(await roles(), ['reader']);
    await upsertClient(t.sql, { ...metadata, roles: ['reader', 'writer'] }, 'admin');
    assert.deepEqual(await roles(), ['reader', 'writer']);
    await upsertClient(t.sql, { ...metadata, roles: [] }, 'admin');
    assert.deepEqual(await roles(), []);
  });

  test('while its metadata is cached, a client is not looked up again; a rotated secret or a deleted client is seen at once', async () => {
    await upsertClient(
      t.sql,
      {
        client_id: 'cached-service',
        client_secret: hashClientSecret('cached-service-secret'),
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        roles: [],
        first_party: false,
      },
      'admin',
    );
    const provider = t.idp.provider;
    const adapter = (provider.Client as unknown as { adapter: { find(id: string): Promise<unknown> } })
      .adapter;
    const find = adapter.find;
    let lookups = 0;
    adapter.find = function (this: unknown, id: string) {
      lookups++;
      return find.call(this, id);
    };
    const grant = async (secret: string) =>
      (
        await fetch(tokenUrl, {
          method: 'POST',
          headers: { authorization: basic('cached-service', secret), 'content-type': form },
          body: 'grant_type=client_credentials',
        })
      ).status;
    try {
      // The first lookup fills the metadata cache, the second finds the instance from it, the next reuse it.
      const first = await provider.Client.find('cached-service');
      assert.ok(first);
      assert.equal(await provider.Client.find('cached-service'), first);
      assert.equal(lookups, 2);
      assert.equal(await provider.Client.find('cached-service'), first);
      assert.equal(await grant('cached-service-secret'), 200);
      assert.equal(lookups, 2);

      const secret = await rotateClientSecret(t.sql, 'cached-service');
      assert.equal(await grant('cached-service-secret'), 401);
      assert.equal(await grant(secret), 200);

      assert.equal(await deleteClient(t.sql, 'cached-service'), true);
      assert.equal(await grant(secret), 401);
      assert.equal(await provider.Client.find('cached-service'), undefined);
    } finally {
      adapter.find = find;
    }
  });

  test('client_secret_post is accepted too', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': form },
      body: 'grant_type=client_credentials&client_id=demo-service&client_secret=demo-service-secret',
    });
    assert.equal(res.status, 200);
  });

  test('a token asked for a registered resource carries that audience', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic('demo-service', 'demo-service-secret'), 'content-type': form },
      body: `grant_type=client_credentials&resource=${encodeURIComponent('https://reports.example.com')}`,
    });
    assert.equal(res.status, 200);
    const { access_token } = (await res.json()) as { access_token: string };
    const { payload } = await jwtVerify(access_token, createRemoteJWKSet(new URL(`${t.issuer}/jwks`)), {
      audience: 'https://reports.example.com',
    });
    assert.equal(payload.sub, 'demo-service');
  });

  test('a resource indicator that is not registered is refused with invalid_target', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic('demo-service', 'demo-service-secret'), 'content-type': form },
      body: `grant_type=client_credentials&resource=${encodeURIComponent('http://unknown.example/api')}`,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_target');
  });

  test('a wrong secret is refused with invalid_client', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic('demo-service', 'not-the-secret'), 'content-type': form },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /);
  });

  test('an unknown client is refused with invalid_client', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic('nobody', 'whatever-secret'), 'content-type': form },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
  });

  test('a public client cannot use client credentials', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': form },
      body: 'grant_type=client_credentials&client_id=demo-app',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      error: 'invalid_request',
      error_description: 'requested grant type is not allowed for this client',
    });
  });

  test('the password grant does not exist', async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic('demo-service', 'demo-service-secret'), 'content-type': form },
      body: 'grant_type=password&username=alice&password=alice-password',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'unsupported_grant_type');
  });

  test('the client secret is stored as its SHA-256 hash, never in clear', async () => {
    const rows = await t.sql.query<{ metadata: { client_secret: string } }>(
      "select metadata from idp_clients where client_id = 'demo-service'",
    );
    assert.equal(rows[0]!.metadata.client_secret, hashClientSecret('demo-service-secret'));
    const dump = JSON.stringify(await t.sql.query('select metadata from idp_clients'));
    assert.ok(!dump.includes('demo-service-secret'));
  });

  test('private_key_jwt authenticates with a signed client assertion', async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('jwt-service')
      .setSubject('jwt-service')
      .setAudience(t.issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(signer);
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': form },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }).toString(),
    });
    assert.equal(res.status, 200);
    const { access_token } = (await res.json()) as { access_token: string };
    const { payload } = await jwtVerify(access_token, createRemoteJWKSet(new URL(`${t.issuer}/jwks`)));
    assert.equal(payload.sub, 'jwt-service');
    assert.deepEqual(payload['roles'], ['reports']);
  });

  test('a client assertion used twice is refused', async () => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('jwt-service')
      .setSubject('jwt-service')
      .setAudience(t.issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(signer);
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }).toString();
    const first = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': form }, body });
    assert.equal(first.status, 200);
    const second = await fetch(tokenUrl, { method: 'POST', headers: { 'content-type': form }, body });
    assert.equal(second.status, 401);
    assert.equal(((await second.json()) as { error: string }).error, 'invalid_client');
  });
});
