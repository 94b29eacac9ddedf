import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { silentLogger } from '../src/logger.ts';
import { Shutdown } from '../src/shutdown.ts';

/** A raw client connection, so keep-alive and how the connection ends are seen as they are. */
async function open(
  port: number,
): Promise<{ socket: Socket; received: () => string; ended: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const ended = new Promise<string>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
  return { socket, received: () => text, ended };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

async function answered(conn: { received: () => string }, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((conn.received().match(/HTTP\/1\.1 /g) ?? []).length < count) {
    if (Date.now() > deadline) throw new Error(`no answer ${count}: ${conn.received()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('graceful shutdown drains before it closes', () => {
  test('kept-alive connections end cleanly after their answer, in-flight requests finish, idle ones close, readiness fails first', async () => {
    const server = createServer((req, res) => {
      const body = req.url === '/slow' ? 'slow' : 'ok';
      setTimeout(() => res.end(body), req.url === '/slow' ? 600 : 0);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const shutdown = new Shutdown(silentLogger(), 4000, 300);
    shutdown.addServer(server);
    let drainedFirst = false;
    shutdown.onDrain(() => {
      drainedFirst = server.listening;
    });

    const kept = await open(port);
    kept.socket.write(get('/'));
    await answered(kept, 1);
    assert.match(kept.received(), /Connection: keep-alive/i);
    const idle = await open(port);
    const inFlight = await open(port);
    inFlight.socket.write(get('/slow'));
    await new Promise((r) => setTimeout(r, 50));

    const closed = shutdown.close();
    assert.equal(shutdown.draining, true);
    assert.equal(drainedFirst, true, 'drain hooks run while the listener still takes connections');

    // A request on the kept-alive connection during the drain is answered, then the connection ends.
    kept.socket.write(get('/again'));
    const keptText = await kept.ended;
    const answers = keptText.split('HTTP/1.1 ').slice(1);
    assert.equal(answers.length, 2);
    assert.match(answers[1]!, /^200 OK/);
    assert.match(answers[1]!, /Connection: close/i);
    assert.match(answers[1]!, /ok$/);

    // The request in flight when shutdown started is answered in full, with Connection: close.
    const slowText = await inFlight.ended;
    assert.match(slowText, /^HTTP\/1\.1 200 OK/);
    assert.match(slowText, /Connection: close/i);
    assert.match(slowText, /slow$/);

    // The idle keep-alive connection is closed without an answer; nothing was sent on it.
    assert.equal(await idle.ended, '');

    await closed;
    // New connections are refused once the listener closed.
    const refused = connect(port, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
  });

  test('the drain delay never takes more than half of the shutdown budget', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const shutdown = new Shutdown(silentLogger(), 400, 10_000);
    shutdown.addServer(server);
    const started = Date.now();
    await shutdown.close();
    const ms = Date.now() - started;
    assert.ok(ms >= 180 && ms < 1000, `took ${ms} ms`);
  });
});
