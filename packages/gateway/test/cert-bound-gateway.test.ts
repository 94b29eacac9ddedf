import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
// The development CA of `gatehouse certs`: the same certificates a team would use.
import { createDevCa, issueCertificate, type PemPair } from '@gatehouse/cli';
import { certificateThumbprint } from '@gatehouse/sdk';
import {
  type Harness,
  type Keys,
  makeKeys,
  mintToken,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

/**
 * Certificate-bound access tokens (RFC 8705) through the gateway's HTTPS listener: a token whose
 * `cnf.x5t#S256` names a client certificate is accepted only on a connection that presented that
 * certificate, verified against the configured client CA.
 */

let dir: string;
let keys: Keys;
let echo: Upstream;
let optional: Harness;
let required: Harness;
let ca: PemPair;
let app: PemPair;
let sibling: PemPair;
let intruder: PemPair;
let boundToken: string;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

function get(port: number, token: string, client?: PemPair): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/echo',
      servername: 'localhost',
      ca: ca.cert,
      ...(client ? { cert: client.cert, key: client.key } : {}),
      headers: { authorization: `Bearer ${token}` },
      agent: false,
    });
    req.on('response', async (res) => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
      });
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-cert-bound-'));
  ca = await createDevCa();
  const server = await issueCertificate(ca, {
    name: 'gateway',
    dns: ['localhost'],
    ip: ['127.0.0.1'],
    server: true,
    client: false,
  });
  app = await issueCertificate(ca, { name: 'orders-app', server: false, client: true });
  sibling = await issueCertificate(ca, { name: 'other-app', server: false, client: true });
  intruder = await issueCertificate(await createDevCa({ commonName: 'Intruder CA' }), {
    name: 'orders-app',
    server: false,
    client: true,
  });
  await writeFile(join(dir, 'server.crt'), server.cert);
  await writeFile(join(dir, 'server.key'), server.key, { mode: 0o600 });
  await writeFile(join(dir, 'ca.crt'), ca.cert);

  keys = await makeKeys();
  echo = await startEcho();
  const section = (clientCertificate: 'optional' | 'required') => ({
    tls: {
      certFile: join(dir, 'server.crt'),
      keyFile: join(dir, 'server.key'),
      clientCaFile: join(dir, 'ca.crt'),
      clientCertificate,
    },
    routes: [{ id: 'echo', match: { path: '/echo' }, upstreams: [echo.url], policy: 'authenticated' }],
  });
  optional = await startGateway(section('optional'), { keys });
  required = await startGateway(section('required'), { keys });
  boundToken = await mintToken(keys, {
    sub: 'orders-app',
    client_id: 'orders-app',
    username: undefined,
    sid: undefined,
    cnf: { 'x5t#S256': certificateThumbprint(new X509Certificate(app.cert)) },
  });
});

after(async () => {
  await optional.close();
  await required.close();
  await echo.close();
  await rm(dir, { recursive: true, force: true });
});

function assertBindingRefused(r: Reply): void {
  assert.equal(r.status, 401);
  assert.equal(r.body['error'], 'SDK_TOKEN_BINDING_INVALID');
  assert.match(String(r.headers['www-authenticate']), /^Bearer realm="gatehouse", error="invalid_token"/);
}

describe('certificate-bound tokens through the gateway', () => {
  test('with the certificate the token is bound to, the request passes', async () => {
    const r = await get(optional.port, boundToken, app);
    assert.equal(r.status, 200);
    const headers = r.body['headers'] as Record<string, string>;
    assert.equal(headers['x-user-id'], 'orders-app');
    assert.equal(headers['x-client-id'], 'orders-app');
  });

  test('without a client certificate the bound token is refused', async () => {
    assertBindingRefused(await get(optional.port, boundToken));
  });

  test('with another certificate of the same CA the bound token is refused', async () => {
    assertBindingRefused(await get(optional.port, boundToken, sibling));
  });

  test('a certificate of another CA proves nothing, whatever its name', async () => {
    assertBindingRefused(await get(optional.port, boundToken, intruder));
  });

  test('a token verified once is still checked against the certificate of each request', async () => {
    assert.equal((await get(optional.port, boundToken, app)).status, 200);
    assertBindingRefused(await get(optional.port, boundToken, sibling));
    assert.equal((await get(optional.port, boundToken, app)).status, 200);
  });

  test('a token that is not bound is accepted with or without a certificate', async () => {
    const plain = await mintToken(keys);
    assert.equal((await get(optional.port, plain)).status, 200);
    assert.equal((await get(optional.port, plain, sibling)).status, 200);
  });

  test('with client certificates required, the bound token passes with its certificate', async () => {
    assert.equal((await get(required.port, boundToken, app)).status, 200);
    assertBindingRefused(await get(required.port, boundToken, sibling));
  });

  test('with client certificates required, a connection without one is refused before HTTP', async () => {
    await assert.rejects(get(required.port, boundToken), (err: NodeJS.ErrnoException) => {
      // OpenSSL itself refuses a handshake without a certificate when one is required (RFC 8446 alert 116).
      assert.equal(err.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
      return true;
    });
  });
});
