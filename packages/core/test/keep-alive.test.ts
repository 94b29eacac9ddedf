import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KEEP_ALIVE_IDLE_MS, outlastBalancerIdleTimeouts } from '../src/keep-alive.ts';

test('an idle kept-alive connection outlasts the 60 s idle timeout of the load balancers in front', () => {
  const server = createServer();
  outlastBalancerIdleTimeouts(server);
  assert.ok(KEEP_ALIVE_IDLE_MS > 60_000);
  assert.equal(server.keepAliveTimeout, KEEP_ALIVE_IDLE_MS);
});

test('a connection left idle past Node’s default 5 s still carries the next request', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  outlastBalancerIdleTimeouts(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let connections = 0;
  server.on('connection', () => connections++);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port, agent }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
        .on('error', reject)
        .end();
    });
  try {
    assert.equal(await get(), 'ok');
    await sleep(6_000);
    assert.equal(await get(), 'ok');
    assert.equal(connections, 1, 'the second request went over the first connection');
  } finally {
    agent.destroy();
    server.closeAllConnections();
    server.close();
  }
});
