import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createMetricsRegistry, type Registry, sendError, silentLogger } from '@gatehouse/core';
import { createUpstreamPool, type UpstreamPoolHandle } from '../src/upstreams/upstream-pool.ts';
import { deadPort, Replica } from './upstream-fixtures.ts';

const NAME = 'gatehouse_gateway_upstream_requests_total';

/** The counter's series as text, in the registry's order. */
async function series(registry: Registry): Promise<string[]> {
  const text = await registry.getSingleMetricAsString(NAME);
  return text.split('\n').filter((l) => l.startsWith(NAME));
}

describe('upstream attempts are counted by route, replica and result as prom-client counts them', () => {
  const live = new Replica('live', (req, res) => {
    res.writeHead(req.url === '/busy' ? 503 : req.url === '/fail' ? 500 : 200).end('x');
  });
  let dead: string;
  let registry: Registry;
  let pool: UpstreamPoolHandle;
  let server: Server;
  let url: string;

  const startPool = () =>
    createUpstreamPool(
      { id: 'counted', upstreams: [dead, live.url], balance: 'round-robin', timeoutMs: 5000, retries: 1 },
      { logger: silentLogger(), metrics: registry },
    );

  before(async () => {
    await live.start();
    dead = `http://127.0.0.1:${await deadPort()}`;
    registry = createMetricsRegistry('upstream-metrics-test');
    pool = startPool();
    server = createServer((req, res) => {
      pool.forward(req, res, { path: req.url ?? '/', headers: { host: 'x' } }).catch((err: unknown) => {
        sendError(res, err);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await pool.close();
    await live.kill();
  });

  test('every attempt counted once, by result, series in the order first counted', async () => {
    // One request at a time, so that the attempts happen in a known order.
    const paths = ['/a', '/b', '/busy', '/c', '/fail', '/d', '/busy'];
    for (const p of paths) await (await fetch(`${url}${p}`)).arrayBuffer();
    const seen = await series(registry);
    const counts = new Map<string, number>();
    for (const line of seen) {
      const m = /^\w+\{route="counted",upstream="([^"]+)",result="([^"]+)"[^}]*\} (\d+)$/.exec(line);
      assert.ok(m, line);
      counts.set(`${m[1]} ${m[2]}`, Number(m[3]));
    }
    // Round-robin starts on the dead replica: its failure comes first, then the live one's answer.
    assert.match(seen[0]!, new RegExp(`upstream="${dead}",result="unavailable"`));
    assert.match(seen[1]!, new RegExp(`upstream="${live.url}",result="ok"`));
    // Every request reached the live replica once; a 503 counts against it, a 500 does not.
    assert.equal(counts.get(`${live.url} ok`), 5);
    assert.equal(counts.get(`${live.url} error_status`), 2);
    assert.equal(live.hits.length, paths.length);
    assert.ok((counts.get(`${dead} unavailable`) ?? 0) >= 1);
    assert.equal(seen.length, 3);
  });

  test('a second read adds only what happened since, and a closed pool keeps its counts', async () => {
    const before = await series(registry);
    assert.deepEqual(await series(registry), before, 'reading twice counts nothing twice');
    const okBefore = Number(/ (\d+)$/.exec(before.find((l) => l.includes('result="ok"'))!)![1]);
    for (let i = 0; i < 3; i++) await (await fetch(`${url}/more`)).arrayBuffer();
    // A reload: the old pool closes with counts not read yet, a new one counts on.
    const old = pool;
    pool = startPool();
    await old.close();
    for (let i = 0; i < 2; i++) await (await fetch(`${url}/more`)).arrayBuffer();
    const after = await series(registry);
    const okAfter = Number(/ (\d+)$/.exec(after.find((l) => l.includes('result="ok"'))!)![1]);
    assert.equal(okAfter, okBefore + 5);
  });

  test('a reset drops what was counted, read or not', async () => {
    await (await fetch(`${url}/x`)).arrayBuffer();
    registry.resetMetrics();
    assert.deepEqual(await series(registry), []);
    await (await fetch(`${url}/x`)).arrayBuffer();
    const after = await series(registry);
    const ok = after.find((l) => l.includes(`upstream="${live.url}",result="ok"`));
    assert.match(ok ?? '', / 1$/);
  });
});
