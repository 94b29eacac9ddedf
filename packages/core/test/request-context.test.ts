import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../src/logger.ts';
import { withOpsEndpoints } from '../src/ops-endpoints.ts';

test('every log line written while serving a request carries its request id, and the answer names it', async () => {
  const lines: Record<string, unknown>[] = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => {
    for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
  });
  const logger = createLogger({ level: 'info', destination: out });
  const server = createServer(
    withOpsEndpoints(
      async (_req, res) => {
        await new Promise((r) => setImmediate(r));
        logger.info('inside the handler');
        res.end('ok');
      },
      { checks: {}, draining: () => false },
    ),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/anything`;
  try {
    const given = await fetch(url, { headers: { 'x-request-id': 'req-abcdef12' } });
    assert.equal(given.headers.get('x-request-id'), 'req-abcdef12');
    const spoofed = await fetch(url, { headers: { 'x-request-id': 'bad id\twith controls' } });
    const fresh = spoofed.headers.get('x-request-id') ?? '';
    assert.match(fresh, /^[0-9a-f-]{36}$/);
    logger.info('outside any request');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      lines.map((l) => [l.msg, l.requestId]),
      [
        ['inside the handler', 'req-abcdef12'],
        ['inside the handler', fresh],
        ['outside any request', undefined],
      ],
    );
  } finally {
    server.close();
  }
});
