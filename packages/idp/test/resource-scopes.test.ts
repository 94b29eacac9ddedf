import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { clientMetadataFromConfig } from '../src/protocol/clients.ts';
import { idpConfig, startIdp, type TestIdp } from './idp-harness.ts';

const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const ORDERS = 'urn:gatehouse:orders';
const REPORTS = 'https://reports.example.com';

describe('per-client resource scopes', () => {
  let t: TestIdp;
  let tokenUrl: string;

  const token = (client: string, secret: string, body: string) =>
    fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic(client, secret), 'content-type': form },
      body: `grant_type=client_credentials&${body}`,
    });

  before(async () => {
    t = await startIdp({
      config: {
        resources: [REPORTS],
        clients: [
          {
            clientId: 'shop-products',
            clientSecret: 'shop-products-test-secret',
            grantTypes: ['client_credentials'],
            scope: '',
            roles: ['service'],
            resources: { [ORDERS]: ['orders:add'] },
          },
        ],
      },
    });
    tokenUrl = `${t.issuer}/token`;
  });
  after(() => t?.close());

  test('a listed resource with its listed scope gives a JWT with that audience and scope', async () => {
    const res = await token(
      'shop-products',
      'shop-products-test-secret',
      `resource=${encodeURIComponent(ORDERS)}&scope=orders:add`,
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; scope?: string };
    assert.equal(body.scope, 'orders:add');
    const { payload } = await jwtVerify(body.access_token, createRemoteJWKSet(new URL(`${t.issuer}/jwks`)), {
      issuer: t.issuer,
      audience: ORDERS,
      typ: 'at+jwt',
    });
    assert.equal(payload.aud, ORDERS);
    assert.equal(payload['scope'], 'orders:add');
    assert.equal(payload.sub, 'shop-products');
    assert.equal(payload['client_id'], 'shop-products');
    assert.deepEqual(payload['roles'], ['service']);
  });

  test('a scope the resource does not list for the client is left out of the token', async () => {
    const res = await token(
      'shop-products',
      'shop-products-test-secret',
      `resource=${encodeURIComponent(ORDERS)}&scope=${encodeURIComponent('orders:add orders:delete')}`,
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; scope?: string };
    assert.equal(body.scope, 'orders:add');
    assert.equal(decodeJwt(body.access_token)['scope'], 'orders:add');
  });

  test('a client with its own resources cannot ask for a shared resource it does not list', async () => {
    const res = await token(
      'shop-products',
      'shop-products-test-secret',
      `resource=${encodeURIComponent(REPORTS)}`,
    );
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_target');
  });

  test('another client cannot ask for a resource only shop-products lists', async () => {
    const res = await token(
      'demo-service',
      'demo-service-secret',
      `resource=${encodeURIComponent(ORDERS)}&scope=orders:add`,
    );
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_target');
  });

  test('the default audience stays available to a client with its own resources', async () => {
    const res = await token('shop-products', 'shop-products-test-secret', '');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string };
    assert.equal(decodeJwt(body.access_token).aud, t.origin);
  });

  test('resources in the client config are stored in the client metadata', () => {
    const [client] = idpConfig({
      clients: [
        {
          clientId: 'svc',
          clientSecret: 'svc-secret-0123456789',
          grantTypes: ['client_credentials'],
          resources: { [ORDERS]: ['a', 'b'] },
        },
      ],
    }).clients;
    assert.deepEqual(clientMetadataFromConfig(client!).resources, { [ORDERS]: ['a', 'b'] });
  });

  test('a resource scope with a space is refused by the config schema', () => {
    assert.throws(
      () =>
        idpConfig({
          clients: [
            {
              clientId: 'svc',
              clientSecret: 'svc-secret-0123456789',
              grantTypes: ['client_credentials'],
              resources: { [ORDERS]: ['a b'] },
            },
          ],
        }),
      /resources/,
    );
  });

  test('a resource indicator with a fragment is refused as IDP_CLIENT_INVALID', () => {
    const [client] = idpConfig({
      clients: [
        {
          clientId: 'svc',
          clientSecret: 'svc-secret-0123456789',
          grantTypes: ['client_credentials'],
          resources: { 'https://a.example/#x': [] },
        },
      ],
    }).clients;
    assert.throws(() => clientMetadataFromConfig(client!), {
      code: 'IDP_CLIENT_INVALID',
      message: /must be an absolute URI without a fragment/,
    });
  });
});
