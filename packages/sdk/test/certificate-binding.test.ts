import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { createNodeGuard } from '../src/guards/node-http.ts';
import { certificateThumbprint, createVerifier, SdkError, type Verifier } from '../src/index.ts';
import { startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/mtls/${name}`, import.meta.url));
// The calling service's certificate: the token below is bound to it.
const bound = certificateThumbprint(new X509Certificate(fixture('gateway.crt')));

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(
    promise,
    (err: unknown) => err instanceof SdkError && err.code === code && err.status === 401,
  );
}

describe('certificate-bound tokens (RFC 8705)', () => {
  let idp: TestIssuer;
  let verifier: Verifier;
  let server: Server;
  let base: string;

  before(async () => {
    idp = await startTestIssuer();
    verifier = createVerifier({ issuer: idp.issuer, audiences: ['orders'] });
    const guard = createNodeGuard({ verifier });
    server = createServer(
      {
        cert: fixture('server.crt'),
        key: fixture('server.key'),
        requestCert: true,
        rejectUnauthorized: false,
      },
      guard.protect((req, res) => res.end(req.principal.subject)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await idp.close();
  });

  async function call(client: string | undefined, token: string) {
    const dispatcher = new Agent({
      connect: {
        ca: fixture('ca.crt'),
        ...(client ? { cert: fixture(`${client}.crt`), key: fixture(`${client}.key`) } : {}),
      },
    });
    try {
      const res = await request(base, { headers: { authorization: `Bearer ${token}` }, dispatcher });
      const text = await res.body.text();
      return { status: res.statusCode, text, challenge: res.headers['www-authenticate'] };
    } finally {
      await dispatcher.close();
    }
  }

  it('accepts a bound token over a connection with its certificate', async () => {
    const res = await call('gateway', await idp.sign({ sub: 'products', cnf: { 'x5t#S256': bound } }));
    assert.equal(res.status, 200);
    assert.equal(res.text, 'products');
  });

  it('refuses a bound token presented without its certificate', async () => {
    const res = await call(undefined, await idp.sign({ cnf: { 'x5t#S256': bound } }));
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.text).error, 'SDK_TOKEN_BINDING_INVALID');
    assert.equal(
      res.challenge,
      'Bearer error="invalid_token", error_description="The token is bound to a client certificate that was not presented"',
    );
  });

  it('refuses a bound token presented with another certificate', async () => {
    const res = await call('intruder', await idp.sign({ cnf: { 'x5t#S256': bound } }));
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.text).error, 'SDK_TOKEN_BINDING_INVALID');
  });

  it('accepts an unbound token with or without a client certificate', async () => {
    assert.equal((await call(undefined, await idp.sign())).status, 200);
    assert.equal((await call('intruder', await idp.sign())).status, 200);
  });

  it('checks the binding on every use, also when the token is cached', async () => {
    const token = await idp.sign({ cnf: { 'x5t#S256': bound } });
    await verifier.verifyAccessToken(token, { clientCertificateThumbprint: bound });
    const hits = verifier.stats.hits;
    await rejectsWith(verifier.verifyAccessToken(token), 'SDK_TOKEN_BINDING_INVALID');
    await verifier.verifyAccessToken(token, { clientCertificateThumbprint: bound });
    assert.equal(verifier.stats.hits, hits + 1);
  });

  it('refuses a confirmation method it cannot check (DPoP jkt)', async () => {
    await rejectsWith(
      verifier.verifyAccessToken(await idp.sign({ cnf: { jkt: 'abc' } }), {
        clientCertificateThumbprint: bound,
      }),
      'SDK_TOKEN_BINDING_INVALID',
    );
  });
});
