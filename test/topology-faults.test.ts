/**
 * The production topology under faults, in its short form: scripts/topology.ts brings up 2 identity
 * providers, 2 gateways, 2 authz, 2 replicas of each shop service and nginx in front, on this
 * machine's PostgreSQL and Redis; the shop load runs through nginx while each fault of
 * scripts/faults.ts is injected once. Nothing the client was told may be lost: orders, sessions,
 * refresh tokens, revocations.
 *
 * It restarts this machine's PostgreSQL and Redis (the postgres and redis runs), so `npm test` runs
 * this file alone, after the others (scripts/test.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSql } from '@gatehouse/core';
import { skipUnlessService } from '@gatehouse/core/testing';
import { type RunResult, resultTable, runFault, runs } from '../scripts/faults/runs.ts';
import { alive, readPid } from '../scripts/topology/processes.ts';
import {
  down,
  POSTGRES_ADMIN_URL,
  REDIS_URL,
  status,
  type TopologyState,
  up,
} from '../scripts/topology/topology.ts';

const NGINX = '/usr/sbin/nginx';
const nginxMissing = existsSync(NGINX) ? false : `${NGINX} is not installed (apt-get install -y nginx)`;
if (nginxMissing) {
  if (process.env['CI'] === 'true') throw new Error(`the topology tests need nginx: ${nginxMissing}`);
  console.log(`# skipping the topology tests: ${nginxMissing}`);
}
const skip = nginxMissing || (await skipUnlessService('postgres')) || (await skipUnlessService('redis'));

const SECONDS = 6;
const USERS = 4;

describe('the production topology under faults (short form)', { skip, timeout: 420_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-topology-test-'));
  let state: TopologyState;
  const results: RunResult[] = [];

  before(async () => {
    state = await up({ dir });
  });
  after(async () => {
    if (results.length > 0) console.log(`# ${resultTable(results).replaceAll('\n', '\n# ')}`);
    const pids = state ? state.processes.map((p) => readPid(dir, p.name)) : [];
    await down(dir);
    assert.equal(existsSync(dir), false, 'down leaves no folder behind');
    assert.deepEqual(
      pids.filter((pid) => pid !== undefined && alive(pid)),
      [],
      'down leaves no process behind',
    );
    if (!state) return;
    const admin = await openSql({ driver: 'postgres', url: POSTGRES_ADMIN_URL });
    try {
      const left = await admin.query('select 1 from pg_database where datname = $1', [state.database]);
      assert.equal(left.length, 0, 'down drops the database');
    } finally {
      await admin.close();
    }
    const keys = execFileSync(
      'redis-cli',
      ['-u', REDIS_URL, '--scan', '--pattern', `${state.redisPrefix}*`],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(keys.trim(), '', 'down deletes the Redis keys');
  });

  test('up starts every process of the shape, and status finds each one ready', async () => {
    const lines = await status(state);
    assert.deepEqual(lines.map((l) => l.name).sort(), [
      'authz-1',
      'authz-2',
      'gateway-1',
      'gateway-2',
      'idp-1',
      'idp-2',
      'nginx',
      'orders-1',
      'orders-2',
      'products-1',
      'products-2',
    ]);
    assert.deepEqual(
      lines.filter((l) => l.health !== 200).map((l) => `${l.name}: ${l.health ?? l.detail}`),
      [],
    );
  });

  async function faultRun(name: string): Promise<RunResult> {
    const fault = runs.find((r) => r.name === name);
    assert.ok(fault, name);
    const result = await runFault(state, fault, { seconds: SECONDS, users: USERS, short: true });
    results.push(result);
    assert.ok(result.events.length > 0, 'the fault was injected');
    assert.ok(result.ordersAcknowledged > 0, 'orders were placed during the run');
    assert.equal(result.ordersLost, 0, 'an acknowledged order is stored');
    assert.equal(result.sessionsLost, 0, 'every session the client holds still works');
    assert.equal(result.refreshLost, 0, 'every refresh token the client holds still refreshes');
    assert.ok(result.revocationsChecked > 0, 'logouts were checked at every gateway');
    assert.equal(result.revocationsLost, 0, 'every logged-out session is refused by every gateway');
    return result;
  }

  test('a replica killed with SIGKILL and restarted loses nothing; only POSTs in flight on it may fail', async () => {
    const r = await faultRun('kills');
    assert.equal(r.failedGet, 0, r.failures.join('; '));
  });

  test('a rolling restart with SIGTERM of an idp and a gateway fails no request', async () => {
    const r = await faultRun('rolling');
    assert.equal(r.failed, 0, r.failures.join('; '));
  });

  test('a PostgreSQL restart: answers come quickly (no hang), and everything recovers without a restart', async () => {
    const r = await faultRun('postgres');
    // query_timeout is 10 s by default; a request may wait for it once, never longer.
    assert.ok(r.maxMs < 12_000, `slowest request ${r.maxMs} ms`);
    assert.equal(r.noAnswer, 0, r.failures.join('; '));
  });

  test('a logout made while Redis is down is enforced by every gateway once Redis is back', async () => {
    const r = await faultRun('redis');
    assert.ok(r.revocationsChecked >= 2, 'the outage logout is among the checked ones');
  });

  test('two key rotations under load: no 401, no failed request', async () => {
    const r = await faultRun('keys');
    assert.equal(r.unauthorized, 0, r.failures.join('; '));
    assert.equal(r.failed, 0, r.failures.join('; '));
  });
});
