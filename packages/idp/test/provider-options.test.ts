import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { ALICE, authorize, cookieJar, startIdp, type TestIdp } from './idp-harness.ts';

const REDIRECT = 'http://localhost:8080/callback';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`;

describe('PAR and DPoP are off unless configured', () => {
  test('discovery offers neither by default', async () => {
    const t = await startIdp();
    try {
      const doc = (await (await fetch(`${t.issuer}/.well-known/openid-configuration`)).json()) as Record<
        string,
        unknown
      >;
      assert.equal(doc['pushed_authorization_request_endpoint'], undefined);
      assert.equal(doc['dpop_signing_alg_values_supported'], undefined);
    } finally {
      await t.close();
    }
  });
});

describe('PAR and DPoP when configured', () => {
  let t: TestIdp;
  before(async () => {
    t = await startIdp({ config: { features: { pushedAuthorizationRequests: true, dpop: true } } });
  });
  after(() => t?.close());

  test('a pushed authorization request is redeemed once at the authorization endpoint', async () => {
    const push = await fetch(`${t.issuer}/request`, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({
        client_id: 'demo-app',
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      }).toString(),
    });
    assert.equal(push.status, 201);
    const { request_uri, expires_in } = (await push.json()) as { request_uri: string; expires_in: number };
    assert.match(request_uri, /^urn:ietf:params:oauth:request_uri:/);
    assert.equal(typeof expires_in, 'number');
    const url = new URL(`${t.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: 'demo-app', request_uri }).toString();
    const callback = await authorize(t, url, ALICE);
    assert.equal(callback.origin + callback.pathname, REDIRECT);
    assert.equal(typeof callback.searchParams.get('code'), 'string');

    // FAPI 2 hardening: a request_uri is single use (consumed when the authorization answers).
    const again = await fetch(url, { redirect: 'manual' });
    assert.equal(again.status, 400);
    assert.equal(again.headers.get('location'), null);
    assert.match(await again.text(), /invalid_request_uri/);
  });

  test('a client-credentials token requested with a DPoP proof is bound to its key', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const proof = await new SignJWT({ htm: 'POST', htu: `${t.issuer}/token` })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
      .setJti(randomUUID())
      .setIssuedAt()
      .sign(privateKey);
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { ...form, authorization: basic, dpop: proof },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; token_type: string };
    assert.equal(body.token_type, 'DPoP');
    const claims = decodeJwt(body.access_token) as { cnf?: { jkt?: string } };
    assert.equal(typeof claims.cnf?.jkt, 'string');
  });
});

// The relying party listens on loopback, which oidc-provider refuses unless allowPrivateNetworkFetch.
describe('back-channel logout', () => {
  let t: TestIdp;
  const received: string[] = [];
  const rp = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(200).end();
    });
  });

  before(async () => {
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    t = await startIdp({ config: { allowPrivateNetworkFetch: true } });
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'bcl-app',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: [REDIRECT],
        postLogoutRedirectUris: ['http://localhost:8080/'],
        backchannelLogoutUri: `http://127.0.0.1:${(rp.address() as AddressInfo).port}/logout`,
        scope: 'openid',
        roles: [],
        firstParty: false,
      }),
      'admin',
    );
  });
  after(async () => {
    rp.close();
    await t?.close();
  });

  test('logging out sends the client a signed logout token', async () => {
    const jar = cookieJar();
    const url = new URL(`${t.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'bcl-app',
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    }).toString();
    await authorize(t, url, ALICE, jar);

    const end = new URL(`${t.issuer}/session/end`);
    end.search = new URLSearchParams({ client_id: 'bcl-app' }).toString();
    const page = await fetch(end, { headers: { cookie: jar.header() } });
    jar.take(page);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(await page.text())?.[1];
    assert.ok(xsrf);
    const confirm = await fetch(`${t.issuer}/session/end/confirm`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...form, cookie: jar.header() },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    assert.equal(confirm.status, 303);
    assert.equal(received.length, 1);
    const jwks = (await (await fetch(`${t.issuer}/jwks`)).json()) as never;
    const { payload, protectedHeader } = await jwtVerify(received[0]!, createLocalJWKSet(jwks), {
      issuer: t.issuer,
      audience: 'bcl-app',
    });
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.equal(payload.sub, ALICE);
    assert.deepEqual(payload['events'], { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(typeof payload.jti, 'string');
    assert.equal(payload['nonce'], undefined);
  });
});
