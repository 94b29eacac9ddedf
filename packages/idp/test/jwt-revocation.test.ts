import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, SignJWT } from 'jose';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { REVOCATIONS_CHANNEL, revokedKey } from '../src/revocation/revocation-publisher.ts';
import { startIdp, type TestIdp } from './idp-harness.ts';

const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const DEMO = basic('demo-service', 'demo-service-secret');
const OTHER = basic('other-service', 'other-service-secret-value');

describe('revocation and introspection of JWT access tokens', () => {
  let t: TestIdp;
  const messages: string[] = [];

  before(async () => {
    t = await startIdp();
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'other-service',
        clientSecret: 'other-service-secret-value',
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        postLogoutRedirectUris: [],
        scope: '',
        roles: [],
        firstParty: false,
      }),
      'admin',
    );
    await t.state.subscribe(REVOCATIONS_CHANNEL, (m) => messages.push(m));
  });
  after(() => t?.close());

  async function issue(auth = DEMO): Promise<string> {
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': form },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function post(path: string, auth: string, token: string) {
    const res = await fetch(`${t.issuer}${path}`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': form },
      body: new URLSearchParams({ token }).toString(),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  test('a revoked JWT is reported inactive, its jti is published and its state key set', async () => {
    const token = await issue();
    const { jti, exp } = decodeJwt(token);
    assert.equal((await post('/token/introspection', DEMO, token)).body?.['active'], true);

    const revoked = await post('/token/revocation', DEMO, token);
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body, undefined);

    assert.deepEqual((await post('/token/introspection', DEMO, token)).body, { active: false });
    assert.equal(await t.state.get(revokedKey('jti', jti!)), '1');
    assert.ok(
      messages
        .map((m) => JSON.parse(m))
        .some((m) => m.kind === 'jti' && m.value === jti && m.expiresAt === exp),
    );
  });

  test('introspection of a valid JWT by a confidential client lists its claims', async () => {
    const token = await issue();
    const { body, status } = await post('/token/introspection', OTHER, token);
    assert.equal(status, 200);
    const claims = decodeJwt(token);
    assert.deepEqual(body, {
      active: true,
      token_type: 'Bearer',
      client_id: 'demo-service',
      sub: 'demo-service',
      aud: claims.aud,
      iss: t.issuer,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      roles: ['service'],
    });
  });

  test('a client cannot revoke another client’s JWT', async () => {
    const token = await issue();
    const res = await post('/token/revocation', OTHER, token);
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      error: 'invalid_request',
      error_description: 'client is not authorized to revoke the presented token',
    });
    assert.equal((await post('/token/introspection', DEMO, token)).body?.['active'], true);
  });

  test('revocation and introspection still need an authenticated client', async () => {
    const token = await issue();
    const res = await post('/token/revocation', basic('demo-service', 'wrong-secret'), token);
    assert.equal(res.status, 401);
    assert.equal(res.body?.['error'], 'invalid_client');
    const intro = await post('/token/introspection', basic('demo-service', 'wrong-secret'), token);
    assert.equal(intro.status, 401);
    assert.equal((await post('/token/introspection', DEMO, token)).body?.['active'], true);
  });

  test('a JWT that is not ours is inactive, and revoking it is not an error', async () => {
    const token = await issue();
    const tampered = `${token.split('.').slice(0, 2).join('.')}.${'A'.repeat(86)}`;
    assert.deepEqual((await post('/token/introspection', DEMO, tampered)).body, { active: false });
    assert.equal((await post('/token/revocation', DEMO, tampered)).status, 200);
  });

  async function signed(claims: Record<string, unknown>, expiresAt: number): Promise<string> {
    const { kid, alg, key } = await t.idp.keys.signingKey();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ client_id: 'demo-service', ...claims })
      .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
      .setIssuer(t.issuer)
      .setSubject('demo-service')
      .setAudience(t.origin)
      .setJti(`test-${Math.random().toString(36).slice(2)}`)
      .setIssuedAt(now - 1200)
      .setExpirationTime(expiresAt)
      .sign(key);
  }

  test('an expired JWT signed with our key is reported inactive', async () => {
    const expired = await signed({}, Math.floor(Date.now() / 1000) - 600);
    assert.deepEqual((await post('/token/introspection', DEMO, expired)).body, { active: false });
  });

  test('a JWT whose session (sid) was revoked is reported inactive', async () => {
    const exp = Math.floor(Date.now() / 1000) + 300;
    const token = await signed({ sid: 'session-to-end' }, exp);
    assert.equal((await post('/token/introspection', DEMO, token)).body?.['active'], true);
    await t.idp.revocations.revoke([{ kind: 'sid', value: 'session-to-end', expiresAt: exp }]);
    assert.deepEqual((await post('/token/introspection', DEMO, token)).body, { active: false });
    assert.equal(await t.state.get(revokedKey('sid', 'session-to-end')), '1');
  });

  test('revocations survive a restart of the in-process state', async () => {
    const token = await issue();
    const { jti } = decodeJwt(token);
    await post('/token/revocation', DEMO, token);
    await t.state.delete(revokedKey('jti', jti!));
    assert.ok((await t.idp.revocations.restore()) >= 1);
    assert.equal(await t.state.get(revokedKey('jti', jti!)), '1');
  });
});
