import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Front, Replica, startFront } from './upstream-fixtures.ts';

/** Every byte value, twice: what a text conversion on the way would mangle. */
const BINARY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)),
]);
const UTF8 = Buffer.from('{"name":"Zoë Ångström 山田 🙂","note":"é\\u00e9"}', 'utf8');
/** Larger than what goes out in one write with the header, so written as it comes. */
const LARGE = randomBytes(200 * 1024);

/** GET (or HEAD) `path`, the answer's status, headers and raw bytes. */
function fetchRaw(
  url: string,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('answers reach the client byte for byte', () => {
  const replica = new Replica('bodies', (req, res) => {
    const send = (body: Buffer, type: string) => {
      res.writeHead(200, { 'content-type': type, 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.url === '/binary') return send(BINARY, 'application/octet-stream');
    if (req.url === '/utf8') return send(UTF8, 'application/json; charset=utf-8');
    if (req.url === '/large') return send(LARGE, 'application/octet-stream');
    if (req.url === '/empty') return send(Buffer.alloc(0), 'text/plain');
    if (req.url?.startsWith('/echo/')) return send(Buffer.from(req.url.slice(6)), 'text/plain');
    if (req.url === '/chunked') {
      // No Content-Length: the body comes in pieces, with pauses between them.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(BINARY.subarray(0, 100));
      setTimeout(() => {
        res.write(BINARY.subarray(100, 300));
        setTimeout(() => res.end(BINARY.subarray(300)), 10);
      }, 10);
      return;
    }
    res.writeHead(404).end();
  });
  let front: Front;
  before(async () => {
    await replica.start();
    front = await startFront({ upstreams: [replica.url] });
  });
  after(async () => {
    await front.close();
    await replica.kill();
  });

  for (const [path, body] of [
    ['/binary', BINARY],
    ['/utf8', UTF8],
    ['/large', LARGE],
    ['/empty', Buffer.alloc(0)],
  ] as const) {
    test(`${path}: the same bytes and Content-Length as the upstream's`, async () => {
      const res = await fetchRaw(`${front.url}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-length'], String(body.length));
      assert.equal(res.headers['transfer-encoding'], undefined);
      assert.ok(res.body.equals(body), `${path}: ${res.body.length} bytes differ from ${body.length} sent`);
    });
  }

  test('a body without Content-Length arrives whole, chunked', async () => {
    const res = await fetchRaw(`${front.url}/chunked`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.ok(res.body.equals(BINARY));
  });

  test('HEAD: the Content-Length of the body, no body', async () => {
    const res = await fetchRaw(`${front.url}/binary`, 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(BINARY.length));
    assert.equal(res.body.length, 0);
  });

  test('many answers completing together each reach their own client', async () => {
    // Answers parsed in one event-loop turn are written together (deferred-end.ts): none may be
    // lost, cut or given to another request.
    const ids = Array.from({ length: 64 }, (_, i) => `${i}-${randomBytes(4).toString('hex')}`);
    const answers = await Promise.all(ids.map((id) => fetchRaw(`${front.url}/echo/${id}`)));
    answers.forEach((res, i) => {
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), ids[i]);
      assert.equal(res.headers['content-length'], String(ids[i]!.length));
    });
  });

  test('several answers in a row on one kept-alive connection stay whole', async () => {
    for (let i = 0; i < 20; i++) {
      const path = i % 2 ? '/binary' : '/utf8';
      const res = await fetchRaw(`${front.url}${path}`);
      assert.ok(res.body.equals(i % 2 ? BINARY : UTF8), `answer ${i}`);
    }
  });
});
