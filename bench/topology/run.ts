/**
 * Throughput of the production topology (scripts/topology.ts: nginx, 2 gateways, 2 idp, 2 authz,
 * 2 products and 2 orders replicas) under the shop load, fault-free and while replicas are killed.
 *
 *   node bench/topology/run.ts [--users 100,1000] [--duration 60] [--warmup 5] [--kill-every 10]
 *                              [--connections 256] [--dir DIR]
 *
 * For each user count: the users register and sign in (at most 50 at a time), then the shop load
 * (scripts/faults/driver.ts: whoami, products, buy, orders, a refresh every 4th loop, a logout and
 * a new sign-in every 7th) runs through nginx for --warmup seconds, then --duration seconds
 * fault-free, then --duration seconds while a random replica (idp, gateway, authz, products or
 * orders) is SIGKILLed every --kill-every seconds and restarted. Printed per phase: requests per
 * second through nginx (answered as expected / all), each gateway's share (its
 * gatehouse_gateway_requests_total), failed requests, p99, and CPU per request of every component
 * and of this process (the load generator, which shares the machine), read from /proc. After both
 * phases: data lost (acknowledged orders missing from the database, sessions and refresh tokens the
 * client holds that no longer work, logged-out sessions a gateway still accepts): the target is 0,
 * and throughput during kills at least 70 % of the fault-free phase.
 *
 * Uses the topology up in --dir (default $GATEHOUSE_TOPOLOGY_DIR, else <tmp>/gatehouse-topology), or
 * brings one up and takes it down at the end, keeping the processes' logs in <dir>.logs. Needs nginx,
 * PostgreSQL and Redis (their CPU is not counted: they serve other clients too). Exit 1 when data
 * was lost.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Sample, ShopDriver } from '../../scripts/faults/driver.ts';
import { TopologyHttp } from '../../scripts/faults/http.ts';
import { readPid } from '../../scripts/topology/processes.ts';
import {
  defaultDir,
  downKeepingLogs,
  loadState,
  start,
  stop,
  storedOrderIds,
  type TopologyState,
  up,
} from '../../scripts/topology/topology.ts';
import { benchArgs } from '../bench-args.ts';
import { processCpuSeconds } from '../process-cpu.ts';

const args = benchArgs(import.meta.url, {
  users: { type: 'string', default: '100,1000' },
  duration: { type: 'string', default: '60' },
  warmup: { type: 'string', default: '5' },
  'kill-every': { type: 'string', default: '10' },
  connections: { type: 'string', default: '256' },
  dir: { type: 'string' },
});
const userCounts = args.users.split(',').map(Number);
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const killEvery = Number(args['kill-every']);
const connections = Number(args.connections);
if (
  userCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 5000) ||
  !(duration >= 5) ||
  !(warmup >= 0) ||
  !(killEvery >= 2) ||
  !Number.isInteger(connections) ||
  connections < 1
) {
  console.error(
    'topology bench: --users 1..5000 (comma list), --duration ≥ 5, --kill-every ≥ 2, --connections ≥ 1',
  );
  process.exit(2);
}
const note = (line: string) => console.error(`topology bench: ${line}`);
const REPLICATED = ['idp', 'gateway', 'authz', 'products', 'orders'];

/** Every process a pid has started, recursively (nginx's workers), from /proc's children lists. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)) {
      if (tid === '') continue;
      out.push(Number(tid), ...descendants(Number(tid)));
    }
  } catch {
    // gone meanwhile
  }
  return out;
}

/**
 * CPU seconds per component over a window, across restarts: every process seen (and its children)
 * keeps its last reading, so a replica killed mid-window counts up to its last observation (taken
 * just before the kill), and one started mid-window counts in full (start-up is the fault's cost).
 */
class CpuLedger {
  readonly #seen = new Map<number, { kind: string; first: number; last: number }>();
  #open = false;
  readonly state: TopologyState;
  constructor(state: TopologyState) {
    this.state = state;
  }

  observe(): void {
    for (const p of this.state.processes) {
      const pid = readPid(this.state.dir, p.name);
      if (pid === undefined) continue;
      for (const id of [pid, ...descendants(pid)]) {
        const s = processCpuSeconds(id);
        if (s === undefined) continue;
        const known = this.#seen.get(id);
        if (known) known.last = s;
        else this.#seen.set(id, { kind: p.kind, first: this.#open ? 0 : s, last: s });
      }
    }
    this.#open = true;
  }

  byKind(): Map<string, number> {
    const out = new Map<string, number>();
    for (const v of this.#seen.values()) out.set(v.kind, (out.get(v.kind) ?? 0) + v.last - v.first);
    return out;
  }
}

/** Each gateway's request counter, summed across its restarts (a restarted gateway counts from 0). */
class GatewayCounts {
  readonly #last = new Map<string, number>();
  readonly served = new Map<string, number>();
  readonly state: TopologyState;
  readonly http: TopologyHttp;
  constructor(state: TopologyState, http: TopologyHttp) {
    this.state = state;
    this.http = http;
  }

  async observe(): Promise<void> {
    await Promise.all(
      this.state.processes
        .filter((p) => p.kind === 'gateway')
        .map(async (g) => {
          const r = await this.http.request(`https://127.0.0.1:${g.port}/_gatehouse/metrics`);
          if (r.status !== 200) return;
          let total = 0;
          // The gateway's own endpoints (health probes, these scrapes) are not the load's.
          for (const m of r.body.matchAll(/^gatehouse_gateway_requests_total\{([^}]*)\} (\d+)$/gm))
            if (!m[1]!.includes('route="_gatehouse"')) total += Number(m[2]);
          const last = this.#last.get(g.name);
          if (last !== undefined)
            this.served.set(g.name, (this.served.get(g.name) ?? 0) + (total >= last ? total - last : total));
          this.#last.set(g.name, total);
        }),
    );
  }
}

interface Phase {
  users: number;
  name: string;
  seconds: number;
  requests: number;
  ok: number;
  failed: number;
  failures: string;
  p99: number;
  perGateway: string;
  cpuMsPerRequest: Map<string, number>;
  loadGeneratorCpuShare: number;
  kills: string[];
}

function p99(samples: Sample[]): number {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return sorted.length === 0
    ? 0
    : Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!);
}

async function phase(
  state: TopologyState,
  driver: ShopDriver,
  http: TopologyHttp,
  users: number,
  name: string,
  kill: boolean,
): Promise<Phase> {
  const ledger = new CpuLedger(state);
  const gateways = new GatewayCounts(state, http);
  await gateways.observe();
  ledger.observe();
  const from = driver.now();
  const cpu0 = process.cpuUsage();
  const kills: string[] = [];
  let ended = false;
  const ticker = (async () => {
    for (await sleep(1000); !ended; await sleep(1000)) {
      ledger.observe();
      await gateways.observe();
    }
  })();
  const killer = (async () => {
    if (!kill) return;
    await sleep(Math.min(killEvery, duration) * 500);
    while (!ended) {
      const t = performance.now();
      const names = state.processes.filter((p) => REPLICATED.includes(p.kind)).map((p) => p.name);
      const victim = names[Math.floor(Math.random() * names.length)]!;
      ledger.observe();
      await gateways.observe();
      await stop(state, victim, 'SIGKILL');
      await start(state, victim);
      kills.push(`${victim} (ready in ${((performance.now() - t) / 1000).toFixed(1)} s)`);
      note(`${name}: killed ${victim}, ready again after ${Math.round(performance.now() - t)} ms`);
      await sleep(Math.max(0, killEvery * 1000 - (performance.now() - t)));
    }
  })();
  await sleep(duration * 1000);
  // The window ends here for requests, CPU and counters alike; a replica being restarted
  // finishes after it, before the next phase.
  const to = driver.now();
  ended = true;
  ledger.observe();
  const cpu = process.cpuUsage(cpu0);
  await gateways.observe();
  await Promise.all([ticker, killer]);
  const window = driver.samples.filter((s) => s.at >= from && s.at < to && !s.step.startsWith('check'));
  const failed = window.filter((s) => !s.ok);
  const byKind = new Map<string, number>();
  for (const s of failed) {
    const key = `${s.method} ${s.step} ${s.status || s.error}`;
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  const seconds = (to - from) / 1000;
  const cpuMsPerRequest = new Map<string, number>();
  for (const [kind, s] of ledger.byKind()) cpuMsPerRequest.set(kind, (s * 1000) / Math.max(1, window.length));
  const loadGenerator = (cpu.user + cpu.system) / 1e6;
  cpuMsPerRequest.set('load generator', (loadGenerator * 1000) / Math.max(1, window.length));
  return {
    users,
    name,
    seconds,
    requests: window.length,
    ok: window.length - failed.length,
    failed: failed.length,
    failures: [...byKind].map(([k, n]) => `${n}× ${k}`).join('; ') || 'none',
    p99: p99(window),
    perGateway: [...gateways.served].map(([g, n]) => `${g} ${(n / seconds).toFixed(0)}`).join(', '),
    cpuMsPerRequest,
    loadGeneratorCpuShare: loadGenerator / seconds,
    kills,
  };
}

interface Loss {
  ordersAcknowledged: number;
  ordersLost: number;
  sessionsLost: number;
  sessionsEndedByUnansweredLogout: number;
  refreshLost: number;
  revocationsChecked: number;
  revocationsLost: number;
}

async function run(state: TopologyState, users: number): Promise<{ phases: Phase[]; loss: Loss }> {
  // Under a thousand closed-loop users a request waits for a connection most of its time: the
  // client's timeout is the bench's length, not a user's patience.
  const http = new TopologyHttp(readFileSync(state.ca, 'utf8'), 60_000, connections);
  const driver = new ShopDriver({
    http,
    origin: state.publicUrl,
    client: state.appClient,
    users,
    prepareConcurrency: 50,
  });
  try {
    const t = performance.now();
    await driver.prepare();
    const prepFailed = driver.samples.filter((s) => !s.ok).length;
    note(
      `${users} users signed up and in, ${((performance.now() - t) / 1000).toFixed(0)} s, ${prepFailed} failed requests`,
    );
    driver.start();
    await sleep(warmup * 1000);
    const phases = [
      await phase(state, driver, http, users, 'fault-free', false),
      await phase(state, driver, http, users, 'replica kills', true),
    ];
    await sleep(1000);
    await driver.stop();
    const held = await driver.checkHeld();
    let revocationsLost = 0;
    const gateways = state.processes.filter((p) => p.kind === 'gateway');
    for (const session of driver.loggedOut) {
      for (const g of gateways) {
        const r = await http.request(`https://127.0.0.1:${g.port}/products`, {
          headers: { cookie: `gatehouse_session=${session}`, host: new URL(state.publicUrl).host },
        });
        if (r.status !== 401) revocationsLost++;
      }
    }
    const stored = await storedOrderIds(state);
    const acked = [...driver.ordersAcknowledged];
    return {
      phases,
      loss: {
        ordersAcknowledged: acked.length,
        ordersLost: acked.filter((id) => !stored.has(id)).length,
        sessionsLost: held.sessionsLost,
        sessionsEndedByUnansweredLogout: driver.sessionsEndedByUnansweredLogout,
        refreshLost: held.refreshLost,
        revocationsChecked: driver.loggedOut.length * gateways.length,
        revocationsLost,
      },
    };
  } finally {
    await driver.stop().catch(() => {});
    await http.close();
  }
}

const KINDS = ['nginx', 'gateway', 'idp', 'authz', 'products', 'orders', 'load generator'];

function tables(results: { phases: Phase[]; loss: Loss }[]): string {
  const out: string[] = [];
  out.push(
    '| users | phase | s | requests/s through nginx (ok / all) | per gateway /s | during ÷ fault-free | failed | p99 ms | load generator CPU (cores) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const { phases } of results) {
    const free = phases[0]!;
    for (const p of phases) {
      const ratio =
        p === free ? '' : `**${((p.ok / p.seconds / (free.ok / free.seconds)) * 100).toFixed(0)} %**`;
      out.push(
        `| ${p.users} | ${p.name} | ${p.seconds.toFixed(0)} | ${(p.ok / p.seconds).toFixed(0)} / ${(p.requests / p.seconds).toFixed(0)} | ${p.perGateway} | ${ratio} | ${p.failed} | ${p.p99} | ${p.loadGeneratorCpuShare.toFixed(2)} |`,
      );
    }
  }
  out.push(
    '',
    `| users | phase | ${KINDS.map((k) => `${k} CPU ms/req`).join(' | ')} |`,
    `|${' --- |'.repeat(KINDS.length + 2)}`,
  );
  for (const { phases } of results)
    for (const p of phases)
      out.push(
        `| ${p.users} | ${p.name} | ${KINDS.map((k) => (p.cpuMsPerRequest.get(k) ?? 0).toFixed(2)).join(' | ')} |`,
      );
  out.push(
    '',
    '| users | orders acked / lost | sessions lost (+ after unanswered logout) | refresh tokens lost | revocations checked / lost |',
    '| --- | --- | --- | --- | --- |',
  );
  for (const { phases, loss } of results)
    out.push(
      `| ${phases[0]!.users} | ${loss.ordersAcknowledged} / **${loss.ordersLost}** | **${loss.sessionsLost}** (+${loss.sessionsEndedByUnansweredLogout}) | **${loss.refreshLost}** | ${loss.revocationsChecked} / **${loss.revocationsLost}** |`,
    );
  out.push('');
  for (const { phases } of results)
    for (const p of phases) {
      out.push(
        `- ${p.users} users, ${p.name}: failed ${p.failures}${p.kills.length ? `; killed ${p.kills.join(', ')}` : ''}`,
      );
    }
  return out.join('\n');
}

const dir = args.dir ?? defaultDir();
let state = loadState(dir);
const owned = state === undefined;
const results: { phases: Phase[]; loss: Loss }[] = [];
try {
  state ??= await up({ dir, note });
  for (const users of userCounts) {
    note(
      `${users} users: ${warmup} s warm-up, ${duration} s fault-free, ${duration} s with a replica killed every ${killEvery} s`,
    );
    results.push(await run(state, users));
    console.log(`\n${tables(results.slice(-1))}\n`);
  }
} finally {
  if (owned) {
    await downKeepingLogs(dir, note);
  }
}
if (results.length > 1) console.log(`\n${tables(results)}\n`);
const lost = results.some(
  ({ loss }) => loss.ordersLost + loss.sessionsLost + loss.refreshLost + loss.revocationsLost > 0,
);
process.exit(lost ? 1 : 0);
