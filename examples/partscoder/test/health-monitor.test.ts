import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { openTestSql, type TestSql } from '@gatehouse/core/testing';
import { createHealthMonitor, type HealthMonitor, setupDashboard } from '../src/services/health-monitor.ts';

/** The dashboard's registry and health checks on their own: up, down, and back up. */
describe('the dashboard health monitor', { timeout: 60_000 }, () => {
  let db: TestSql;
  let monitor: HealthMonitor;
  let healthy = true;
  let server: Server;
  let url: string;

  before(async () => {
    db = await openTestSql('pglite');
    await setupDashboard(db.sql);
    // A long interval: the tests drive each round with checkNow().
    monitor = createHealthMonitor({
      sql: db.sql,
      logger: silentLogger(),
      intervalMs: 3_600_000,
      timeoutMs: 2000,
    });
    server = createServer((req, res) => {
      res.writeHead(req.url === '/health' && healthy ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    monitor?.stop();
    await new Promise((resolve) => server?.close(resolve));
    await db?.cleanup();
  });

  const statusOf = async (name: string) => (await monitor.list()).find((s) => s.name === name);

  test('a registered service is unknown until its first check', async () => {
    await monitor.register({ name: 'svc-a', url, healthPath: '/health', routes: ['/a'] });
    assert.deepEqual(await statusOf('svc-a'), {
      name: 'svc-a',
      routes: ['/a'],
      status: 'unknown',
      latencyMs: null,
      checkedAt: null,
    });
  });

  test('a service answering 200 is up, and one that fails its check is down', async () => {
    await monitor.register({
      name: 'svc-gone',
      url: 'http://127.0.0.1:1',
      healthPath: '/health',
      routes: ['/gone'],
    });
    await monitor.checkNow();
    const a = await statusOf('svc-a');
    assert.equal(a?.status, 'up');
    assert.equal(typeof a?.latencyMs, 'number');
    assert.ok(a?.checkedAt instanceof Date);
    const gone = await statusOf('svc-gone');
    assert.equal(gone?.status, 'down');
    assert.equal(gone?.latencyMs, null);
  });

  test('a service whose health check starts failing goes down, and comes back up', async () => {
    healthy = false;
    await monitor.checkNow();
    assert.equal((await statusOf('svc-a'))?.status, 'down');
    healthy = true;
    await monitor.checkNow();
    assert.equal((await statusOf('svc-a'))?.status, 'up');
  });
});
