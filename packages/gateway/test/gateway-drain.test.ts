import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Harness, startEcho, startGateway, type Upstream } from './harness.ts';

/** A GET on a keep-alive agent, so the gateway's own choice of `Connection` is what is seen. */
function get(
  agent: Agent,
  url: string,
): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, async (res) => {
      let body = '';
      for await (const c of res) body += c;
      resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a draining gateway', () => {
  let upstream: Upstream;
  let gw: Harness;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  before(async () => {
    upstream = await startEcho();
    gw = await startGateway({
      routes: [{ id: 'open', match: { path: '/open' }, upstreams: [upstream.url], policy: 'public' }],
    });
  });
  after(async () => {
    agent.destroy();
    await gw.close();
    await upstream.close();
  });

  test('before draining, answers keep the connection open and readiness is 200', async () => {
    const a = await get(agent, `${gw.url}/open`);
    assert.equal(a.status, 200);
    assert.equal(a.connection, 'keep-alive');
    assert.equal((await get(agent, `${gw.url}/_gatehouse/health/ready`)).status, 200);
  });

  test('once draining, readiness answers 503 and every answer, proxied or not, closes its connection', async () => {
    gw.gateway.drain();
    const ready = await get(agent, `${gw.url}/_gatehouse/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.body), { status: 'draining' });
    assert.equal(ready.connection, 'close');
    const proxied = await get(agent, `${gw.url}/open`);
    assert.equal(proxied.status, 200, 'a request that reached a draining gateway is still answered');
    assert.equal(proxied.connection, 'close');
  });
});
