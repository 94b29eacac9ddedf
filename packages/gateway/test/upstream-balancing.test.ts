import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Front, Replica, startFront } from './upstream-fixtures.ts';

async function replicaOf(front: Front, path = '/'): Promise<string> {
  const res = await fetch(front.url + path);
  assert.equal(res.status, 200);
  return ((await res.json()) as { replica: string }).replica;
}

describe('round-robin balancing', () => {
  const a = new Replica('a');
  const b = new Replica('b');
  const c = new Replica('c');
  let front: Front;
  before(async () => {
    await Promise.all([a.start(), b.start(), c.start()]);
    front = await startFront({ upstreams: [a.url, b.url, c.url], balance: 'round-robin' });
  });
  after(async () => {
    await front.close();
    await Promise.all([a.kill(), b.kill(), c.kill()]);
  });

  test('sequential requests visit the replicas in configuration order, then wrap around', async () => {
    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push(await replicaOf(front));
    assert.deepEqual(order, ['a', 'b', 'c', 'a', 'b', 'c']);
  });
});

describe('least-outstanding balancing', () => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slow = new Replica('slow', (req, res) => {
    if (req.url === '/hold') {
      held.then(() => res.end(JSON.stringify({ replica: 'slow' })));
      return;
    }
    res.end(JSON.stringify({ replica: 'slow' }));
  });
  const idle = new Replica('idle');
  let front: Front;
  before(async () => {
    await Promise.all([slow.start(), idle.start()]);
    front = await startFront({ upstreams: [slow.url, idle.url], balance: 'least-outstanding' });
  });
  after(async () => {
    release();
    await front.close();
    await Promise.all([slow.kill(), idle.kill()]);
  });

  test('while one replica holds a request, new requests go to the replica with none outstanding', async () => {
    const pending = fetch(`${front.url}/hold`);
    // Wait until the held request reached the slow replica, so it counts as outstanding.
    while (slow.hits.length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      front.pool.status().map((s) => [s.url, s.outstanding]),
      [
        [slow.url, 1],
        [idle.url, 0],
      ],
    );
    assert.equal(await replicaOf(front), 'idle');
    assert.equal(await replicaOf(front), 'idle');
    assert.equal(await replicaOf(front), 'idle');
    release();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { replica: 'slow' });
  });
});

describe('what the proxy sends and returns', () => {
  const echo = new Replica('echo', (req, res, body) => {
    res.writeHead(201, {
      'content-type': 'application/json',
      connection: 'keep-alive, x-conn-scoped',
      'keep-alive': 'timeout=99, max=7',
      'x-conn-scoped': 'drop me',
      'x-upstream': 'kept',
    });
    res.end(
      JSON.stringify({ method: req.method, url: req.url, length: body.length, test: req.headers['x-test'] }),
    );
  });
  let front: Front;
  before(async () => {
    await echo.start();
    front = await startFront({ upstreams: [`${echo.url}/base/`] });
  });
  after(async () => {
    await front.close();
    await echo.kill();
  });

  test('the path gets the replica base path, the body streams through, the status is kept', async () => {
    const body = 'x'.repeat(1024 * 1024);
    const res = await fetch(`${front.url}/items?q=1`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain', 'x-test': 'yes' },
    });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), {
      method: 'POST',
      url: '/base/items?q=1',
      length: body.length,
      test: 'yes',
    });
  });

  test('hop-by-hop response headers and those named in Connection are dropped, others kept', async () => {
    const res = await fetch(`${front.url}/x`);
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-upstream'), 'kept');
    assert.equal(res.headers.get('x-conn-scoped'), null);
    // The Keep-Alive the client sees is the front server's own (Node's 5 s default), not the upstream's.
    assert.equal(res.headers.get('keep-alive'), 'timeout=5');
  });

  test('a request with Expect: 100-continue gets its continue from the gateway and reaches the upstream without it', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${front.url}/upload`, {
        method: 'PUT',
        headers: { expect: '100-continue', 'content-type': 'text/plain', 'content-length': '5' },
      });
      req.on('continue', () => req.end('hello'));
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
    });
    assert.equal(status, 201);
    assert.deepEqual(JSON.parse(body), { method: 'PUT', url: '/base/upload', length: 5 });
    assert.equal(echo.seen.at(-1)!.headers.expect, undefined);
  });

  test('a large response body streams back intact', async () => {
    echo.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 7);
      for (let i = 0; i < 64; i++) res.write(chunk);
      res.end();
    };
    const res = await fetch(`${front.url}/big`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(res.status, 200);
    assert.equal(bytes.length, 64 * 64 * 1024);
    assert.ok(bytes.every((v) => v === 7));
  });
});
