/**
 * The production topology with slow and failing upstreams, in its short form (scripts/faults.ts
 * upstreams): under the shop load through nginx, one products replica stops answering (SIGSTOP: it
 * accepts connections and never answers) and one orders replica refuses connections (killed). The
 * gateways' health checks take the stopped replica out and their retries and circuit breakers pass
 * over the refusing one: once the checks have run, a user calling products, buy and orders in turn
 * (the healthy path) sees every request succeed, with a p99 within 2× of its fault-free one. Nothing
 * the client was told is lost. (The load's own users soon each wait on the stopped replica, as real
 * clients would: they are no measure of the healthy path, but their requests count for losses.)
 *
 * It leaves PostgreSQL and Redis alone (unlike test/topology-faults.test.ts), but it starts eleven
 * processes and loads the machine, so `npm test` runs it alone, after the others (scripts/test.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { skipUnlessService } from '@gatehouse/core/testing';
import { type RunResult, resultTable, runFault, runs } from '../scripts/faults/runs.ts';
import { down, type TopologyState, up } from '../scripts/topology/topology.ts';

const NGINX = '/usr/sbin/nginx';
const nginxMissing = existsSync(NGINX) ? false : `${NGINX} is not installed (apt-get install -y nginx)`;
if (nginxMissing) {
  if (process.env['CI'] === 'true') throw new Error(`the topology tests need nginx: ${nginxMissing}`);
  console.log(`# skipping the topology tests: ${nginxMissing}`);
}
const skip = nginxMissing || (await skipUnlessService('postgres')) || (await skipUnlessService('redis'));

const SECONDS = 10;
const USERS = 6;

describe('the production topology with a stopped and a refusing shop replica (short form)', {
  skip,
  timeout: 300_000,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-topology-upstreams-'));
  let state: TopologyState | undefined;
  let result: RunResult | undefined;

  before(async () => {
    state = await up({ dir });
  });
  after(async () => {
    if (result) {
      const h = result.healthy;
      console.log(
        `# ${resultTable([result]).replaceAll('\n', '\n# ')}\n# healthy path: ${h?.requests} requests, ${h?.failed} failed, p99 ${h?.p99} ms against ${h?.p99Before} ms fault-free; the load's failures: ${result.failures.join('; ') || 'none'}`,
      );
    }
    await down(dir);
  });

  test('traffic moves to the healthy replicas: no failure once the checks ran, p99 within 2×, nothing lost', async () => {
    const fault = runs.find((r) => r.name === 'upstreams');
    assert.ok(fault);
    result = await runFault(state!, fault, { seconds: SECONDS, users: USERS, short: true });
    const r = result;
    assert.ok(r.events.length > 0, 'the fault was injected');
    assert.ok(r.ordersAcknowledged > 0, 'orders were placed during the run');
    assert.equal(r.ordersLost, 0, 'an acknowledged order is stored');
    assert.equal(r.sessionsLost, 0, 'every session the client holds still works');
    assert.equal(r.refreshLost, 0, 'every refresh token the client holds still refreshes');
    assert.equal(r.revocationsLost, 0, 'every logged-out session is refused by every gateway');
    const healthy = r.healthy;
    assert.ok(healthy && healthy.requests > 0, 'the healthy path was measured while the fault lasted');
    assert.deepEqual(healthy.failures, [], 'no request fails once traffic moved');
    assert.ok(healthy.p99Before > 0, 'and before the fault');
    assert.ok(
      healthy.p99 <= 2 * healthy.p99Before,
      `p99 of the healthy path ${healthy.p99} ms, fault-free ${healthy.p99Before} ms`,
    );
  });
});
