import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  REDIS_URL,
  ROOT,
  start,
  stop,
  storedOrderIds,
  type TopologyState,
  waitReady,
} from '../topology/topology.ts';
import { type Sample, ShopDriver } from './driver.ts';
import { CookieJar, TopologyHttp } from './http.ts';

const run = promisify(execFile);

/** What a fault does to the running topology; `mark` records the moment a fault starts. */
export interface FaultContext {
  state: TopologyState;
  seconds: number;
  /** The bounded form CI runs: one event per fault (one kill; one idp and one gateway restarted). */
  short: boolean;
  mark: (what: string) => void;
  /** Records the moment a fault ends (the replica ready again, the database back): recovery counts from here. */
  back: (what: string) => void;
  note: (line: string) => void;
  http: TopologyHttp;
  /** A user of the load whose session the fault may log out at a chosen moment. */
  extraSession: () => Promise<string>;
  /** Sessions logged out by the fault itself (checked like the load's). */
  loggedOut: string[];
  /** Orders the client was told about (a fault's own requests add theirs). */
  ordersAcknowledged: Set<number>;
  /** A fault that measures its healthy path fills this: probe times before the fault and once traffic moved. */
  healthyPath: { before: number[]; during: number[]; failed: string[] };
}

/**
 * One round of the shop's calls on the routes a shop fault touches (products, buy, orders) for a
 * signed-in session, one after the other; each call's time is added to `into`, each failure named.
 */
async function probeRound(ctx: FaultContext, session: string, into: number[]): Promise<void> {
  const origin = ctx.state.publicUrl;
  const calls: [string, string, number][] = [
    ['GET', '/products', 200],
    ['POST', '/products/1/buy', 201],
    ['GET', '/orders', 200],
  ];
  for (const [method, path, expect] of calls) {
    const t = performance.now();
    const r = await ctx.http.request(`${origin}${path}`, {
      method,
      headers: {
        cookie: `gatehouse_session=${session}`,
        ...(method === 'POST' ? { origin, 'content-type': 'application/json' } : {}),
      },
      ...(method === 'POST' ? { body: JSON.stringify({ quantity: 1 }) } : {}),
    });
    into.push(performance.now() - t);
    if (r.status !== expect) ctx.healthyPath.failed.push(`${method} ${path} ${r.status || r.error}`);
    else if (method === 'POST')
      ctx.ordersAcknowledged.add((JSON.parse(r.body) as { order: { id: number } }).order.id);
  }
}

/** Probe rounds, one after another, for `ms`. */
async function probeFor(ctx: FaultContext, session: string, into: number[], ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) await probeRound(ctx, session, into);
}

export interface FaultRun {
  name: string;
  title: string;
  inject: (ctx: FaultContext) => Promise<void>;
}

// The shop routes' health check (examples/shop/routes.yaml): every 2 s, 1 s to answer; and a
// margin for a probe already under way when the fault starts.
const SHOP_HEALTH_DETECTION_MS = 2000 + 1000 + 500;

const REPLICATED = ['idp', 'gateway', 'authz', 'products', 'orders'];

function replicasOf(state: TopologyState, kinds = REPLICATED): string[] {
  return state.processes.filter((p) => kinds.includes(p.kind)).map((p) => p.name);
}

async function gatehouse(state: TopologyState, ...args: string[]): Promise<string> {
  const env: Record<string, string> = { ...process.env } as Record<string, string>;
  for (const line of readFileSync(join(state.dir, 'secrets.env'), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const { stdout } = await run(process.execPath, [join(ROOT, 'packages/cli/src/bin.ts'), ...args], {
    env,
    cwd: ROOT,
  });
  return stdout;
}

function postgresVersion(): string {
  return readdirSync('/etc/postgresql')[0] ?? '15';
}

export const runs: FaultRun[] = [
  {
    name: 'kills',
    title: 'SIGKILL a random replica every 10 s and restart it (one kill in the short form)',
    async inject({ state, seconds, short, mark, back, note }) {
      const started = performance.now();
      const interval = Math.min(10, Math.max(2, seconds / 3));
      await sleep(interval * 500);
      do {
        const names = replicasOf(state);
        const victim = names[Math.floor(Math.random() * names.length)]!;
        mark(`SIGKILL ${victim}`);
        await stop(state, victim, 'SIGKILL');
        const t = performance.now();
        await start(state, victim);
        back(`${victim} ready`);
        note(`killed ${victim}, ready again after ${Math.round(performance.now() - t)} ms`);
        await sleep(Math.max(0, interval * 1000 - (performance.now() - t)));
      } while (!short && performance.now() - started < (seconds - interval) * 1000);
    },
  },
  {
    name: 'rolling',
    title: 'rolling restart with SIGTERM, one replica at a time: idp, authz, orders, products, gateway',
    async inject({ state, seconds, short, mark, back, note }) {
      const started = performance.now();
      await sleep(Math.min(3000, seconds * 150));
      let passes = 0;
      do {
        for (const kind of short ? ['idp', 'gateway'] : ['idp', 'authz', 'orders', 'products', 'gateway']) {
          for (const name of replicasOf(state, [kind]).slice(0, short ? 1 : undefined)) {
            mark(`SIGTERM ${name}`);
            const t = performance.now();
            await stop(state, name, 'SIGTERM');
            await start(state, name);
            back(`${name} ready`);
            note(`restarted ${name} in ${Math.round(performance.now() - t)} ms`);
            // As Kubernetes' minReadySeconds: the gateways' health checks (every 1-2 s) see the
            // replica back before its sibling stops.
            await sleep(2500);
          }
        }
        passes++;
      } while (!short && performance.now() - started < seconds * 500);
      note(`${passes} rolling pass(es)`);
    },
  },
  {
    name: 'postgres',
    title: 'PostgreSQL restart (pg_ctlcluster restart) under load',
    async inject({ seconds, mark, back, note }) {
      await sleep(seconds * 300);
      mark('pg_ctlcluster restart');
      const t = performance.now();
      await run('pg_ctlcluster', [postgresVersion(), 'main', 'restart', '-m', 'fast']);
      back('PostgreSQL back');
      note(`PostgreSQL restarted in ${Math.round(performance.now() - t)} ms`);
      await sleep(seconds * 500);
    },
  },
  {
    name: 'redis',
    title: 'Redis restart; a logout made while it is down must be enforced by every gateway afterwards',
    async inject({ state, seconds, mark, back, note, http, extraSession, loggedOut }) {
      const session = await extraSession();
      await sleep(seconds * 300);
      mark('redis shutdown');
      await run('redis-cli', ['-u', REDIS_URL, 'shutdown', 'nosave']).catch(() => {});
      await sleep(1000);
      const out = await http.request(`${state.publicUrl}/authentication/logout`, {
        method: 'POST',
        headers: { cookie: `gatehouse_session=${session}`, origin: state.publicUrl },
      });
      note(`logout while Redis is down: ${out.status || out.error}`);
      if (out.status === 204) loggedOut.push(session);
      else throw new Error(`the logout during the Redis outage answered ${out.status || out.error}`);
      await sleep(Math.max(1000, seconds * 100));
      await run('redis-server', [
        '--daemonize',
        'yes',
        '--bind',
        '127.0.0.1',
        '--port',
        // The Redis the topology uses, on its own port: a run may target a private one.
        new URL(REDIS_URL).port || '6379',
        '--save',
        '',
        '--appendonly',
        'no',
      ]);
      back('Redis back');
      for (const g of replicasOf(state, ['gateway', 'idp'])) {
        await waitReady(state, state.processes.find((p) => p.name === g)!, 30_000);
      }
      note('every gateway and idp ready again');
      await sleep(seconds * 300);
    },
  },
  {
    name: 'keys',
    title: 'gatehouse keys rotate, twice, under load: no spurious 401',
    async inject({ state, seconds, mark, note }) {
      const config = join(state.dir, 'gatehouse.yaml');
      for (let i = 0; i < 2; i++) {
        await sleep(seconds * 300);
        mark('keys rotate');
        const out = await gatehouse(state, 'keys', 'rotate', '--config', config);
        note(out.split('\n')[0] ?? '');
      }
      await sleep(seconds * 300);
    },
  },
  {
    name: 'upstreams',
    title:
      'one products replica stopped (SIGSTOP: accepts, never answers), one orders replica refusing (killed)',
    async inject(ctx) {
      const { state, seconds, mark, back, note } = ctx;
      // The healthy path: a user of its own calling products, buy and orders in turn, fault-free
      // first, then once the health checks had time to move traffic. The load's users are no
      // measure of it: each soon waits on the stopped replica, as a real client would, until it
      // gives up or the replica resumes.
      const session = await ctx.extraSession();
      await probeFor(ctx, session, ctx.healthyPath.before, seconds * 300);
      const slow = replicasOf(state, ['products'])[0]!;
      const refusing = replicasOf(state, ['orders']).at(-1)!;
      const pid = Number(readFileSync(join(state.dir, 'pids', `${slow}.pid`), 'utf8'));
      mark(`SIGSTOP ${slow}, SIGKILL ${refusing}`);
      process.kill(pid, 'SIGSTOP');
      await stop(state, refusing, 'SIGKILL');
      await sleep(SHOP_HEALTH_DETECTION_MS);
      await probeFor(ctx, session, ctx.healthyPath.during, Math.max(seconds * 400, 5000));
      process.kill(pid, 'SIGCONT');
      back(`${slow} resumed`);
      await start(state, refusing);
      back(`${refusing} ready`);
      note(`${slow} resumed, ${refusing} restarted`);
      await sleep(seconds * 300);
    },
  },
];

export interface RunResult {
  name: string;
  seconds: number;
  users: number;
  requests: number;
  failed: number;
  failedGet: number;
  failedPost: number;
  noAnswer: number;
  unauthorized: number;
  serverErrors: number;
  ordersAcknowledged: number;
  ordersLost: number;
  ordersUnacknowledged: number;
  sessionsHeld: number;
  sessionsLost: number;
  sessionsEndedByUnansweredLogout: number;
  refreshHeld: number;
  refreshLost: number;
  refreshLostAfterUnansweredRotation: number;
  revocationsChecked: number;
  revocationsLost: number;
  recoverMs: number;
  /** The slowest request of the load, answered or not. */
  maxMs: number;
  p99Before: number;
  p99During: number;
  /** Runs that measure a healthy path: its requests once traffic moved, how many failed, p99 then and fault-free. */
  healthy?: { requests: number; failed: number; failures: string[]; p99: number; p99Before: number };
  failures: string[];
  events: { at: number; what: string; back?: true }[];
}

function percentile99(ms: number[]): number {
  if (ms.length === 0) return 0;
  const sorted = [...ms].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!);
}

function p99(samples: Sample[]): number {
  return percentile99(samples.map((s) => s.ms));
}

/**
 * One fault run: load through the load balancer, the fault, a settling pause, then the counts —
 * from the client (what it was told) and from the database (what was stored).
 */
export async function runFault(
  state: TopologyState,
  fault: FaultRun,
  options: { seconds: number; users: number; short?: boolean; note?: (line: string) => void },
): Promise<RunResult> {
  const note = options.note ?? (() => {});
  const ca = readFileSync(state.ca, 'utf8');
  const http = new TopologyHttp(ca);
  const driver = new ShopDriver({
    http,
    origin: state.publicUrl,
    client: state.appClient,
    users: options.users,
  });
  const events: { at: number; what: string; back?: true }[] = [];
  const loggedOutByFault: string[] = [];
  const healthyPath: FaultContext['healthyPath'] = { before: [], during: [], failed: [] };
  try {
    // Orders stored by earlier runs on the same topology are not this run's.
    const before = await storedOrderIds(state);
    await driver.prepare();
    const prepared = driver.samples.length;
    driver.start();
    const ctx: FaultContext = {
      state,
      seconds: options.seconds,
      short: options.short ?? false,
      mark: (what) => {
        events.push({ at: driver.now(), what });
        note(`${(driver.now() / 1000).toFixed(1)} s: ${what}`);
      },
      back: (what) => {
        events.push({ at: driver.now(), what, back: true });
        note(`${(driver.now() / 1000).toFixed(1)} s: ${what}`);
      },
      note,
      http,
      loggedOut: loggedOutByFault,
      ordersAcknowledged: driver.ordersAcknowledged,
      healthyPath,
      async extraSession() {
        const jar = new CookieJar();
        const username = `fault-extra-${Date.now()}`;
        const password = `pw-${Math.random().toString(36).slice(2)}-long`;
        await http.request(`${state.publicUrl}/authentication/registration`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        });
        const res = await http.request(`${state.publicUrl}/authentication/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        });
        jar.store(res.headers);
        const session = jar.get('gatehouse_session');
        if (!session) throw new Error(`could not sign in the extra user: ${res.status || res.error}`);
        return session;
      },
    };
    await fault.inject(ctx);
    // Settle: the last restarted replica gets back into every rotation.
    await sleep(2000);
    await driver.stop();
    const held = await driver.checkHeld();
    // Every logged-out session, at every gateway directly: a revocation must hold on each replica.
    const revoked = [...driver.loggedOut, ...loggedOutByFault];
    let revocationsLost = 0;
    const gateways = state.processes.filter((p) => p.kind === 'gateway');
    for (const session of revoked) {
      for (const g of gateways) {
        const r = await http.request(`https://127.0.0.1:${g.port}/products`, {
          headers: { cookie: `gatehouse_session=${session}`, host: new URL(state.publicUrl).host },
        });
        if (r.status !== 401) {
          revocationsLost++;
          note(`revocation not enforced at ${g.name}: ${r.status || r.error} ${r.body.slice(0, 80)}`);
        }
      }
    }
    const stored = new Set([...(await storedOrderIds(state))].filter((id) => !before.has(id)));
    const acknowledged = driver.ordersAcknowledged;
    const load = driver.samples.slice(prepared).filter((s) => !s.step.startsWith('check'));
    const failedSamples = load.filter((s) => !s.ok);
    const firstEvent = events[0]?.at ?? Number.POSITIVE_INFINITY;
    // Time to recover: from the moment a fault ended (a replica ready again, the database back)
    // to the end of the last request that failed before the next event; a fault with no end
    // (a key rotation) counts from its start.
    const ends = events.some((e) => e.back) ? events.filter((e) => e.back) : events;
    let recoverMs = 0;
    for (let i = 0; i < ends.length; i++) {
      const from = ends[i]!.at;
      const to = events.find((e) => e.at > from)?.at ?? Number.POSITIVE_INFINITY;
      // By when a failed request ended: one started before the fault may fail because of it.
      const failedEnds = failedSamples.map((s) => s.at + s.ms).filter((end) => end >= from && end < to);
      if (failedEnds.length > 0) recoverMs = Math.max(recoverMs, Math.round(Math.max(...failedEnds) - from));
    }
    const byKind = new Map<string, number>();
    for (const s of failedSamples) {
      const key = `${s.method} ${s.step} ${s.status || s.error}`;
      byKind.set(key, (byKind.get(key) ?? 0) + 1);
    }
    const prepFailures = driver.samples.slice(0, prepared).filter((s) => !s.ok);
    for (const s of prepFailures)
      byKind.set(
        `prepare ${s.step} ${s.status || s.error}`,
        (byKind.get(`prepare ${s.step} ${s.status || s.error}`) ?? 0) + 1,
      );
    return {
      name: fault.name,
      seconds: options.seconds,
      users: options.users,
      requests: load.length,
      failed: failedSamples.length,
      failedGet: failedSamples.filter((s) => s.method === 'GET').length,
      failedPost: failedSamples.filter((s) => s.method !== 'GET').length,
      noAnswer: failedSamples.filter((s) => s.status === 0).length,
      unauthorized: failedSamples.filter((s) => s.status === 401).length,
      serverErrors: failedSamples.filter((s) => s.status >= 500).length,
      ordersAcknowledged: acknowledged.size,
      ordersLost: [...acknowledged].filter((id) => !stored.has(id)).length,
      ordersUnacknowledged: [...stored].filter((id) => !acknowledged.has(id)).length,
      sessionsHeld: held.sessionsHeld,
      sessionsLost: held.sessionsLost,
      sessionsEndedByUnansweredLogout: driver.sessionsEndedByUnansweredLogout,
      refreshHeld: held.refreshHeld,
      refreshLost: held.refreshLost,
      refreshLostAfterUnansweredRotation: driver.refreshLostAfterUnansweredRotation,
      revocationsChecked: revoked.length * gateways.length,
      revocationsLost,
      recoverMs,
      maxMs: Math.round(Math.max(0, ...load.map((s) => s.ms))),
      p99Before: p99(load.filter((s) => s.at < firstEvent)),
      p99During: p99(load.filter((s) => s.at >= firstEvent)),
      ...(healthyPath.during.length > 0
        ? {
            healthy: {
              requests: healthyPath.during.length,
              failed: healthyPath.failed.length,
              failures: healthyPath.failed,
              p99: percentile99(healthyPath.during),
              p99Before: percentile99(healthyPath.before),
            },
          }
        : {}),
      failures: [...byKind].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n}× ${k}`),
      events,
    };
  } finally {
    await driver.stop().catch(() => {});
    await http.close();
  }
}

export function resultTable(results: RunResult[]): string {
  const head =
    '| run | s | users | requests | failed (GET / POST) | no answer / 401 / 5xx | orders acked / lost / unacked | sessions held / lost (+ after unanswered logout) | refresh held / lost (+ after unanswered rotation) | revocations checked / lost | recover ms | p99 ms before / during |';
  const lines = results.map(
    (r) =>
      `| ${r.name} | ${r.seconds} | ${r.users} | ${r.requests} | ${r.failed} (${r.failedGet} / ${r.failedPost}) | ${r.noAnswer} / ${r.unauthorized} / ${r.serverErrors} | ${r.ordersAcknowledged} / ${r.ordersLost} / ${r.ordersUnacknowledged} | ${r.sessionsHeld} / ${r.sessionsLost} (+${r.sessionsEndedByUnansweredLogout}) | ${r.refreshHeld} / ${r.refreshLost} (+${r.refreshLostAfterUnansweredRotation}) | ${r.revocationsChecked} / ${r.revocationsLost} | ${r.recoverMs} | ${r.p99Before} / ${r.p99During} |`,
  );
  return [head, `|${' --- |'.repeat(12)}`, ...lines].join('\n');
}
