import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { hstsHeaderValue, httpsServerOptions, upstreamTlsOptions } from '../src/ops/tls.ts';
import { type Front, startFront } from './upstream-fixtures.ts';

/** A throw-away CA with a server certificate for 127.0.0.1/localhost and a client certificate, made by openssl. */
function makePki(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=gatehouse-test-ca',
  );
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const name of ['server', 'client']) {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=gatehouse-test-${name}`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
  }
}

/** The certificates come from the openssl command; without it the certificate suites skip, saying why. */
const noOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return false;
  } catch {
    if (process.env.CI === 'true')
      throw new Error('the TLS tests need the openssl command; CI never skips them');
    process.stderr.write(
      '# skipping TLS tests that need certificates: the openssl command is not installed\n',
    );
    return 'the openssl command is not installed';
  }
})();

let dir: string | undefined;
const file = (name: string) => join(dir!, name);

before(() => {
  if (noOpenssl) return;
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
  makePki(dir);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS listener', { skip: noOpenssl }, () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createHttpsServer(
      httpsServerOptions({ certFile: file('server.crt'), keyFile: file('server.key') }),
      (_req, res) => {
        res.setHeader(
          'strict-transport-security',
          hstsHeaderValue({ maxAgeSec: 31536000, includeSubDomains: true }),
        );
        res.end('secure');
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
    server.closeAllConnections();
  });

  test('serves with the certificate and key from files, and sends HSTS', async () => {
    const agent = new Agent({ connect: { ca: readFileSync(file('ca.crt')) } });
    try {
      const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: agent });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
      assert.equal(await res.body.text(), 'secure');
    } finally {
      await agent.close();
    }
  });

  test('a client that does not trust the CA is refused at the handshake', async () => {
    await assert.rejects(request(`https://127.0.0.1:${port}/`), /self-signed|unable to verify|certificate/i);
  });

  test('a missing certificate file fails at start-up', () => {
    assert.throws(
      () => httpsServerOptions({ certFile: file('nope.crt'), keyFile: file('server.key') }),
      /ENOENT/,
    );
  });
});

describe('HSTS header value', () => {
  test('max-age alone, with subdomains, and with preload', () => {
    assert.equal(hstsHeaderValue({ maxAgeSec: 600 }), 'max-age=600');
    assert.equal(
      hstsHeaderValue({ maxAgeSec: 600, includeSubDomains: true }),
      'max-age=600; includeSubDomains',
    );
    assert.equal(
      hstsHeaderValue({ maxAgeSec: 63072000, includeSubDomains: true, preload: true }),
      'max-age=63072000; includeSubDomains; preload',
    );
  });

  test('preload without subdomains or a year, and a negative max-age, are refused', () => {
    assert.throws(() => hstsHeaderValue({ maxAgeSec: 63072000, preload: true }), {
      code: 'GW_CONFIG_INVALID',
      message: /preload/,
    });
    assert.throws(
      () => hstsHeaderValue({ maxAgeSec: 600, includeSubDomains: true, preload: true }),
      /preload/,
    );
    assert.throws(() => hstsHeaderValue({ maxAgeSec: -1 }), /maxAgeSec/);
  });
});

describe('mutual TLS to an upstream', { skip: noOpenssl }, () => {
  let upstream: Server;
  let upstreamUrl: string;
  const fronts: Front[] = [];
  before(async () => {
    upstream = createHttpsServer(
      {
        ...httpsServerOptions({
          certFile: file('server.crt'),
          keyFile: file('server.key'),
          clientCaFile: file('ca.crt'),
        }),
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ clientCn: peer.subject?.CN }));
      },
    );
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    upstreamUrl = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const f of fronts) await f.close();
    upstream.close();
    upstream.closeAllConnections();
  });

  const front = async (tls: Parameters<typeof upstreamTlsOptions>[0] | undefined) => {
    const f = await startFront({
      upstreams: [upstreamUrl],
      retries: 0,
      ...(tls ? { tls: upstreamTlsOptions(tls) } : {}),
    });
    fronts.push(f);
    return f;
  };

  test('with the route CA and client certificate, the upstream sees the gateway client certificate', async () => {
    const f = await front({
      caFile: file('ca.crt'),
      certFile: file('client.crt'),
      keyFile: file('client.key'),
    });
    const res = await fetch(`${f.url}/who`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { clientCn: 'gatehouse-test-client' });
  });

  test('without a client certificate the upstream refuses the handshake: 502 GW_UPSTREAM_UNAVAILABLE', async () => {
    const f = await front({ caFile: file('ca.crt') });
    const res = await fetch(`${f.url}/who`);
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_UPSTREAM_UNAVAILABLE');
  });

  test('an upstream certificate from an untrusted CA is refused: 502 GW_UPSTREAM_UNAVAILABLE', async () => {
    const f = await front(undefined);
    const res = await fetch(`${f.url}/who`);
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { error: string }).error, 'GW_UPSTREAM_UNAVAILABLE');
  });

  test('a client certificate without its key is refused at start-up', () => {
    assert.throws(() => upstreamTlsOptions({ certFile: file('client.crt') }), /go together/);
  });
});
