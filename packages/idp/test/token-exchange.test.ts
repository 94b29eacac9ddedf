import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServiceClient } from '@gatehouse/sdk';
import { createRemoteJWKSet, decodeJwt, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { ALICE, authorize, BOB, cookieJar, idpConfig, startIdp, type TestIdp } from './idp-harness.ts';

const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const ORDERS = 'urn:gatehouse:orders';
const BILLING = 'urn:gatehouse:billing';
const REDIRECT = 'http://localhost:8080/shop-callback';
const PRODUCTS_SECRET = 'products-svc-test-secret';
const ORDERS_SECRET = 'orders-svc-test-secret';

describe('token exchange (RFC 8693)', () => {
  let t: TestIdp;
  let tokenUrl: string;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    t = await startIdp({
      config: {
        clients: [
          {
            clientId: 'products-svc',
            clientSecret: PRODUCTS_SECRET,
            grantTypes: ['client_credentials', GRANT],
            scope: '',
            resources: { [ORDERS]: ['orders:read', 'orders:add'] },
          },
          {
            clientId: 'orders-svc',
            clientSecret: ORDERS_SECRET,
            grantTypes: [GRANT],
            scope: '',
            resources: { [BILLING]: ['orders:read', 'orders:add'] },
          },
        ],
      },
    });
    // The user-facing app: its tokens for the default audience may carry the orders scopes.
    await upsertClient(
      t.sql,
      {
        client_id: 'shop-web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [REDIRECT],
        scope: 'openid',
        roles: [],
        first_party: true,
        resources: { [t.origin]: ['openid', 'orders:read', 'orders:add'] },
      },
      'admin',
    );
    tokenUrl = `${t.issuer}/token`;
    jwks = createRemoteJWKSet(new URL(`${t.issuer}/jwks`));
  });
  after(() => t?.close());

  /** A user access token for the default audience, through the code flow of shop-web. */
  async function userToken(accountId: string, scope = 'openid orders:read orders:add'): Promise<string> {
    const rp = await oidc.discovery(new URL(t.issuer), 'shop-web', undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const callback = await authorize(t, url, accountId, cookieJar());
    const tokens = await oidc.authorizationCodeGrant(rp, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    return tokens.access_token;
  }

  function exchange(client: string, secret: string, params: Record<string, string>) {
    return fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic(client, secret), 'content-type': form },
      body: new URLSearchParams({ grant_type: GRANT, subject_token_type: AT, ...params }).toString(),
    });
  }

  async function errorOf(res: Response): Promise<[number, string]> {
    return [res.status, ((await res.json()) as { error: string }).error];
  }

  test('discovery lists the token-exchange grant type', async () => {
    const res = await fetch(`${t.issuer}/.well-known/openid-configuration`);
    const doc = (await res.json()) as { grant_types_supported: string[] };
    assert.ok(doc.grant_types_supported.includes(GRANT));
  });

  test('a service exchanges a user token for a narrowed one with sub, act, aud and scope', async () => {
    const subject = await userToken(ALICE);
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: subject,
      resource: ORDERS,
      scope: 'orders:add',
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body['issued_token_type'], AT);
    assert.equal(body['token_type'], 'Bearer');
    assert.equal(body['scope'], 'orders:add');
    assert.equal(typeof body['expires_in'], 'number');
    const { payload, protectedHeader } = await jwtVerify(body['access_token'] as string, jwks, {
      issuer: t.issuer,
      audience: ORDERS,
      typ: 'at+jwt',
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, ALICE);
    assert.deepEqual(payload['act'], { sub: 'products-svc' });
    assert.equal(payload.aud, ORDERS);
    assert.equal(payload['scope'], 'orders:add');
    assert.equal(payload['client_id'], 'products-svc');
    assert.equal(payload['sid'], decodeJwt(subject)['sid']);
    assert.deepEqual(payload['roles'], ['admin', 'user']);
    assert.ok(payload.exp! <= decodeJwt(subject).exp!);
  });

  test('the audience parameter works like resource', async () => {
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: await userToken(ALICE),
      audience: ORDERS,
      scope: 'orders:read',
    });
    assert.equal(res.status, 200);
    const payload = decodeJwt(((await res.json()) as { access_token: string }).access_token);
    assert.equal(payload.aud, ORDERS);
    assert.equal(payload['scope'], 'orders:read');
  });

  test('without a scope the token gets the subject scopes the client may pass to the resource', async () => {
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: await userToken(ALICE),
      resource: ORDERS,
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { scope: string }).scope, 'orders:read orders:add');
  });

  test('a scope the subject token does not carry is refused with invalid_scope', async () => {
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: await userToken(ALICE, 'openid orders:read'),
      resource: ORDERS,
      scope: 'orders:add',
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_scope']);
  });

  test('a scope the client is not allowed for the resource is refused with invalid_scope', async () => {
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: await userToken(ALICE),
      resource: ORDERS,
      scope: 'openid',
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_scope']);
  });

  test('an audience the client does not list is refused with invalid_target', async () => {
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: await userToken(ALICE),
      resource: BILLING,
      scope: 'orders:read',
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_target']);
  });

  test('a request without resource or audience is refused with invalid_target', async () => {
    const res = await exchange('products-svc', PRODUCTS_SECRET, { subject_token: await userToken(ALICE) });
    assert.deepEqual(await errorOf(res), [400, 'invalid_target']);
  });

  test('an exchanged token cannot be exchanged again for a wider scope', async () => {
    const first = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: await userToken(ALICE),
      resource: ORDERS,
      scope: 'orders:read',
    });
    const narrowed = ((await first.json()) as { access_token: string }).access_token;
    const res = await exchange('orders-svc', ORDERS_SECRET, {
      subject_token: narrowed,
      resource: BILLING,
      scope: 'orders:read orders:add',
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_scope']);
  });

  test('an exchanged token exchanged again nests the earlier actor in act', async () => {
    const first = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: await userToken(ALICE),
      resource: ORDERS,
      scope: 'orders:read',
    });
    const narrowed = ((await first.json()) as { access_token: string }).access_token;
    const res = await exchange('orders-svc', ORDERS_SECRET, { subject_token: narrowed, resource: BILLING });
    assert.equal(res.status, 200);
    const payload = decodeJwt(((await res.json()) as { access_token: string }).access_token);
    assert.equal(payload.sub, ALICE);
    assert.equal(payload.aud, BILLING);
    assert.equal(payload['scope'], 'orders:read');
    assert.deepEqual(payload['act'], { sub: 'orders-svc', act: { sub: 'products-svc' } });
  });

  test('a revoked subject token is refused with invalid_grant', async () => {
    const subject = await userToken(ALICE);
    const revoked = await fetch(`${t.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': form },
      body: new URLSearchParams({ token: subject, client_id: 'shop-web' }).toString(),
    });
    assert.equal(revoked.status, 200);
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: subject,
      resource: ORDERS,
      scope: 'orders:add',
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_grant']);
  });

  test('an expired subject token signed with our key is refused with invalid_grant', async () => {
    const ring = t.idp.keys.current();
    const jwk = ring.privateJwks.keys[0] as Record<string, unknown> & { kid: string; alg?: string };
    const key = await importJWK(jwk, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({
      client_id: 'shop-web',
      scope: 'openid orders:add',
      jti: 'expired-jti',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: jwk.kid })
      .setIssuer(t.issuer)
      .setSubject(ALICE)
      .setAudience(t.origin)
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 600)
      .sign(key);
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: expired,
      resource: ORDERS,
      scope: 'orders:add',
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_grant']);
  });

  test('a subject token signed with another key is refused with invalid_grant', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    // Our active key's kid, so that the verifier picks our key and the signature is what fails.
    const { kid } = t.idp.keys.current().privateJwks.keys[0] as { kid: string };
    const forged = await new SignJWT({ client_id: 'shop-web', scope: 'openid orders:add', jti: 'forged-jti' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
      .setIssuer(t.issuer)
      .setSubject(ALICE)
      .setAudience(t.origin)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: forged,
      resource: ORDERS,
      scope: 'orders:add',
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_grant']);
  });

  test('the token of a disabled user is refused with invalid_grant', async () => {
    const subject = await userToken(BOB);
    t.accounts.disabled.add(BOB);
    try {
      const res = await exchange('products-svc', PRODUCTS_SECRET, {
        subject_token: subject,
        resource: ORDERS,
        scope: 'orders:add',
      });
      assert.deepEqual(await errorOf(res), [400, 'invalid_grant']);
    } finally {
      t.accounts.disabled.delete(BOB);
    }
  });

  test('a service token (client credentials) is not a subject token: invalid_grant', async () => {
    const cc = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic('products-svc', PRODUCTS_SECRET), 'content-type': form },
      body: 'grant_type=client_credentials',
    });
    const { access_token } = (await cc.json()) as { access_token: string };
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: access_token,
      resource: ORDERS,
      scope: 'orders:add',
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_grant']);
  });

  test('a subject_token_type other than access_token is refused with invalid_request', async () => {
    const res = await exchange('products-svc', PRODUCTS_SECRET, {
      subject_token: await userToken(ALICE),
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      resource: ORDERS,
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_request']);
  });

  test('a client that does not list the grant is refused with invalid_request (oidc-provider)', async () => {
    const res = await exchange('demo-service', 'demo-service-secret', {
      subject_token: await userToken(ALICE),
      resource: ORDERS,
    });
    assert.deepEqual(await errorOf(res), [400, 'invalid_request']);
  });

  test('a public client configured for token exchange is refused as IDP_CLIENT_INVALID', () => {
    const [client] = idpConfig({
      clients: [{ clientId: 'spa', tokenEndpointAuthMethod: 'none', grantTypes: [GRANT] }],
    }).clients;
    assert.throws(() => clientMetadataFromConfig(client!), {
      code: 'IDP_CLIENT_INVALID',
      message: /a public client cannot use token exchange/,
    });
  });

  test("the sdk's exchangeToken gets a narrowed token from this grant", async () => {
    const client = createServiceClient({
      tokenEndpoint: tokenUrl,
      clientId: 'products-svc',
      credentials: { clientSecret: PRODUCTS_SECRET },
    });
    const token = await client.exchangeToken({
      subjectToken: await userToken(ALICE),
      audience: ORDERS,
      scope: 'orders:add',
    });
    const { payload } = await jwtVerify(token, jwks, { issuer: t.issuer, audience: ORDERS, typ: 'at+jwt' });
    assert.equal(payload.sub, ALICE);
    assert.deepEqual(payload['act'], { sub: 'products-svc' });
    assert.equal(payload['scope'], 'orders:add');
  });
  test("the sdk's exchangeToken reports a refused exchange with the OAuth error", async () => {
    const client = createServiceClient({
      tokenEndpoint: tokenUrl,
      clientId: 'products-svc',
      credentials: { clientSecret: PRODUCTS_SECRET },
    });
    await assert.rejects(
      client.exchangeToken({ subjectToken: await userToken(ALICE), audience: BILLING, scope: 'orders:read' }),
      { code: 'SDK_TOKEN_REQUEST_REFUSED', message: /invalid_target/ },
    );
  });
});
