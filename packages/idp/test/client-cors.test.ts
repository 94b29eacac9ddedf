import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '@gatehouse/core';
import { idpConfigSchema } from '../src/config-schema.ts';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { ALICE, authorize, cookieJar, startIdp, type TestIdp } from './idp-harness.ts';

const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('CORS at the identity provider: each client’s web origins (clientBasedCORS)', () => {
  let t: TestIdp;

  before(async () => {
    t = await startIdp();
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'browser-service',
        clientSecret: 'browser-service-secret-0123',
        tokenEndpointAuthMethod: 'client_secret_post',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        postLogoutRedirectUris: [],
        scope: '',
        roles: [],
        firstParty: true,
        webOrigins: ['https://console.example'],
      }),
      'admin',
    );
  });
  after(() => t?.close());

  const tokenRequest = (origin: string) =>
    fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': form, origin },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'browser-service',
        client_secret: 'browser-service-secret-0123',
      }),
    });

  test('a token request from a listed web origin is answered with Access-Control-Allow-Origin', async () => {
    const res = await tokenRequest('https://console.example');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://console.example');
  });

  test('a token request from another origin is refused as invalid_request, with no CORS header', async () => {
    const res = await tokenRequest('https://evil.example');
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  test('a confidential client without web origins gets no CORS answer from any origin', async () => {
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: basic('demo-service', 'demo-service-secret'),
        'content-type': form,
        origin: 'http://localhost:8080',
      },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  test('userinfo answers a public client’s redirect origin, in the preflight and in the GET', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${t.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'demo-app',
      response_type: 'code',
      redirect_uri: 'http://localhost:8080/callback',
      scope: 'openid',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const callback = await authorize(t, url, ALICE, cookieJar());
    const tokenRes = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': form, origin: 'http://localhost:8080' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: 'http://localhost:8080/callback',
        client_id: 'demo-app',
        code_verifier: verifier,
      }),
    });
    assert.equal(tokenRes.status, 200);
    assert.equal(tokenRes.headers.get('access-control-allow-origin'), 'http://localhost:8080');
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const preflight = await fetch(`${t.issuer}/me`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8080',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(preflight.status, 204);
    const me = await fetch(`${t.issuer}/me`, {
      headers: { authorization: `Bearer ${token}`, origin: 'http://localhost:8080' },
    });
    assert.equal(me.status, 200);
    assert.equal(me.headers.get('access-control-allow-origin'), 'http://localhost:8080');
    const other = await fetch(`${t.issuer}/me`, {
      headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' },
    });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('web origins must be origins: a path or a wildcard is refused in the configuration', () => {
    for (const origin of ['https://a.example/path', 'https://*.example', 'null']) {
      assert.throws(
        () =>
          loadConfig({
            document: { idp: { clients: [{ clientId: 'spa', webOrigins: [origin] }] } },
            env: {},
            sections: { idp: idpConfigSchema as unknown as Record<string, unknown> },
          }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.problems.some((p) => p.startsWith('idp.clients.0.webOrigins.0: ')),
      );
    }
  });
});
