// Certificate-bound access tokens (RFC 8705) end to end: a service with a client certificate asks
// the identity provider for a token through the gateway's mTLS listener, the identity provider binds
// the token to that certificate (cnf.x5t#S256), and the gateway accepts the token only with it.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, openState, type SharedState } from '@gatehouse/core';
import { createGateway, type Gateway } from '@gatehouse/gateway';
import { clientMetadataFromConfig, upsertClient } from '@gatehouse/idp';
import { certificateThumbprint } from '@gatehouse/sdk';
import { decodeJwt } from 'jose';
import { createDevCa, issueCertificate, type PemPair } from '../packages/cli/src/certs/dev-ca.ts';
import { startEcho, type Upstream } from '../packages/gateway/test/harness.ts';
import { startIdp, type TestIdp } from '../packages/idp/test/idp-harness.ts';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

describe('certificate-bound tokens issued by the identity provider', () => {
  let dir: string;
  let ca: PemPair;
  let robot: PemPair;
  let other: PemPair;
  let idp: TestIdp;
  let echo: Upstream;
  let state: SharedState;
  let gateway: Gateway;
  let port: number;

  function call(
    path: string,
    options: { client?: PemPair; method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        servername: 'localhost',
        ca: ca.cert,
        ...(options.client ? { cert: options.client.cert, key: options.client.key } : {}),
        headers: options.headers ?? {},
        agent: false,
      });
      req.on('response', async (res) => {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        });
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  const tokenRequest = (client?: PemPair, extra: Record<string, string> = {}) =>
    call('/auth/token', {
      method: 'POST',
      ...(client ? { client } : {}),
      headers: {
        authorization: `Basic ${Buffer.from('robot:robot-secret-0123456789').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
        ...extra,
      },
      body: 'grant_type=client_credentials',
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gh-cert-bound-e2e-'));
    ca = await createDevCa();
    const server = await issueCertificate(ca, {
      name: 'gateway',
      dns: ['localhost'],
      ip: ['127.0.0.1'],
      server: true,
      client: false,
    });
    robot = await issueCertificate(ca, { name: 'robot', server: false, client: true });
    other = await issueCertificate(ca, { name: 'other', server: false, client: true });
    await writeFile(join(dir, 'server.crt'), server.cert);
    await writeFile(join(dir, 'server.key'), server.key, { mode: 0o600 });
    await writeFile(join(dir, 'ca.crt'), ca.cert);

    idp = await startIdp({ config: { features: { certificateBoundAccessTokens: true } } });
    await upsertClient(
      idp.sql,
      clientMetadataFromConfig({
        clientId: 'robot',
        clientSecret: 'robot-secret-0123456789',
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        postLogoutRedirectUris: [],
        scope: '',
        roles: ['service'],
        firstParty: true,
        certificateBoundAccessTokens: true,
      }),
      'admin',
    );
    echo = await startEcho();
    state = await openState({ driver: 'memory' });
    gateway = await createGateway({
      config: {
        auth: { issuer: idp.issuer, audiences: [idp.origin], jwksUri: `${idp.issuer}/jwks` },
        tls: {
          certFile: join(dir, 'server.crt'),
          keyFile: join(dir, 'server.key'),
          clientCaFile: join(dir, 'ca.crt'),
          clientCertificate: 'optional',
        },
        routes: [
          {
            id: 'idp',
            match: { path: '/auth' },
            upstreams: [idp.origin],
            policy: 'public',
            forwardToken: true,
          },
          { id: 'echo', match: { path: '/echo' }, upstreams: [echo.url], policy: 'authenticated' },
        ],
      },
      state,
      logger: createLogger({ level: 'silent' }),
    });
    port = (await gateway.listen(0, '127.0.0.1')).port;
  });
  after(async () => {
    await gateway?.close();
    await state?.close();
    await echo?.close();
    await idp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a token asked for over mTLS is bound to that certificate and passes the gateway with it', async () => {
    const answer = await tokenRequest(robot);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const token = answer.body['access_token'] as string;
    const cnf = decodeJwt(token)['cnf'] as Record<string, string>;
    assert.equal(cnf['x5t#S256'], certificateThumbprint(new X509Certificate(robot.cert)));
    const ok = await call('/echo', { client: robot, headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
  });

  test('the bound token is refused with another certificate or none: 401 SDK_TOKEN_BINDING_INVALID', async () => {
    const token = (await tokenRequest(robot)).body['access_token'] as string;
    for (const client of [other, undefined]) {
      const refused = await call('/echo', {
        ...(client ? { client } : {}),
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(refused.status, 401);
      assert.equal(refused.body['error'], 'SDK_TOKEN_BINDING_INVALID');
    }
  });

  test('without a client certificate the client that needs binding gets no token (invalid_grant)', async () => {
    const answer = await tokenRequest(undefined);
    assert.equal(answer.status, 400);
    assert.equal(answer.body['error'], 'invalid_grant');
  });

  test('a certificate header sent by the client itself is stripped and proves nothing', async () => {
    const forged = encodeURIComponent(robot.cert);
    const answer = await tokenRequest(undefined, { 'x-gatehouse-client-cert': forged });
    assert.equal(answer.status, 400);
    assert.equal(answer.body['error'], 'invalid_grant');
  });
});
