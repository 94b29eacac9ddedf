import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { certsCommand } from '../src/commands/certs.ts';

let dir: string;
let otherDir: string;

function certs(...argv: string[]): Promise<number | undefined> {
  const positionals: string[] = [];
  const values: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const name = a.slice(2);
    const spec = certsCommand.options[name];
    if (spec?.type === 'boolean') values[name] = true;
    else if (spec?.multiple) values[name] = [...((values[name] as string[] | undefined) ?? []), argv[++i]!];
    else values[name] = argv[++i];
  }
  return certsCommand.run({ values, positionals });
}

const read = (d: string, f: string) => readFile(join(d, f));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-certs-'));
  otherDir = await mkdtemp(join(tmpdir(), 'gh-certs-other-'));
  assert.equal(await certs('init', '--dir', dir), 0);
  assert.equal(
    await certs('issue', '--dir', dir, '--name', 'orders', '--dns', 'localhost', '--ip', '127.0.0.1'),
    0,
  );
  assert.equal(await certs('issue', '--dir', dir, '--name', 'products', '--client'), 0);
  assert.equal(await certs('init', '--dir', otherDir), 0);
  assert.equal(await certs('issue', '--dir', otherDir, '--name', 'products', '--client'), 0);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(otherDir, { recursive: true, force: true });
});

describe('gatehouse certs', () => {
  test('init writes a CA certificate that may sign, with its key readable by the owner only', async () => {
    const ca = new X509Certificate(await read(dir, 'ca.crt'));
    assert.equal(ca.ca, true);
    assert.equal(ca.subject, 'CN=Gatehouse development CA');
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal((await stat(join(dir, 'ca.key'))).mode & 0o777, 0o600);
  });

  test('issue signs a server certificate with the asked names and ECDSA P-256 key', async () => {
    const ca = new X509Certificate(await read(dir, 'ca.crt'));
    const cert = new X509Certificate(await read(dir, 'orders.crt'));
    assert.equal(cert.ca, false);
    assert.equal(cert.subject, 'CN=orders');
    assert.equal(cert.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(cert.checkIssued(ca), true);
    assert.equal(cert.verify(ca.publicKey), true);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal((await stat(join(dir, 'orders.key'))).mode & 0o777, 0o600);
  });

  test('issue --client makes a client certificate named after the service', async () => {
    const cert = new X509Certificate(await read(dir, 'products.crt'));
    assert.equal(cert.subjectAltName, 'DNS:products');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  });

  test('an existing CA is not replaced without --force', async () => {
    const before = await read(dir, 'ca.key');
    assert.equal(await certs('init', '--dir', dir), 1);
    assert.deepEqual(await read(dir, 'ca.key'), before);
  });

  test('issue refuses a name that would escape the folder', async () => {
    assert.equal(await certs('issue', '--dir', dir, '--name', '../evil'), 2);
    assert.equal(await certs('issue', '--dir', dir, '--name', 'ca'), 2);
  });

  test('issue refuses a bad IP address and a bad DNS name', async () => {
    assert.equal(await certs('issue', '--dir', dir, '--name', 'x', '--ip', '300.1.1.1'), 2);
    assert.equal(await certs('issue', '--dir', dir, '--name', 'x', '--dns', 'a b'), 2);
  });

  test('issue without a CA says to run init first', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'gh-certs-empty-'));
    try {
      assert.equal(await certs('issue', '--dir', empty, '--name', 'orders'), 1);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  test('an unknown action is a usage error', async () => {
    assert.equal(await certs('sign', '--dir', dir), 2);
  });
});

describe('the certificates work for mutual TLS', () => {
  let server: Server;
  let port: number;
  const seen: { authorized: boolean; peer: string }[] = [];

  before(async () => {
    server = createServer(
      {
        cert: await read(dir, 'orders.crt'),
        key: await read(dir, 'orders.key'),
        ca: await read(dir, 'ca.crt'),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        seen.push({ authorized: socket.authorized, peer: socket.getPeerX509Certificate()?.subject ?? '' });
        socket.end('hello');
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function dial(
    clientDir: string,
    maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3',
  ): Promise<{ socket: TLSSocket; data: string; error: NodeJS.ErrnoException | undefined }> {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      maxVersion,
      ca: await read(dir, 'ca.crt'),
      cert: await read(clientDir, 'products.crt'),
      key: await read(clientDir, 'products.key'),
    });
    const chunks: Buffer[] = [];
    let error: NodeJS.ErrnoException | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      error = err;
    });
    await new Promise((resolve) => socket.once('close', resolve));
    return { socket, data: Buffer.concat(chunks).toString(), error };
  }

  test('a client with a certificate of the same CA is verified on both sides', async () => {
    const { socket, data, error } = await dial(dir);
    assert.equal(error, undefined);
    assert.equal(socket.authorized, true);
    assert.equal(data, 'hello');
    assert.deepEqual(seen.at(-1), { authorized: true, peer: 'CN=products' });
    socket.destroy();
  });

  test('a client certificate from another CA is refused', async () => {
    const count = seen.length;
    const { data, error } = await dial(otherDir, 'TLSv1.2');
    // TLS 1.2 so the refusal falls inside the handshake the client waits for: Node's server checks
    // the chain after OpenSSL's handshake and drops the connection, without an alert.
    assert.equal(error?.code, 'ECONNRESET');
    assert.equal(
      error?.message,
      'Client network socket disconnected before secure TLS connection was established',
    );
    assert.equal(data, '');
    assert.equal(seen.length, count);
  });
});
