/**
 * Full password logins per second on one `gatehouse dev` process (one event loop), PostgreSQL storage,
 * compared with what the password hash alone allows on this machine.
 *
 *   ./node_modules/.bin/node bench/idp/login.ts [--duration 5] [--connections 8] [--threads 1] [--warmup 5] [--consent]
 *   ./node_modules/.bin/node bench/idp/login.ts --trace    # the requests and SQL statements of one login
 *   ./node_modules/.bin/node bench/idp/login.ts --profile  # + where the idp's event loop goes, by package
 *
 * One login is what a person does in a fresh browser: GET the authorization URL (demo-app, code +
 * PKCE S256) → the hosted login page → POST the form as alice (argon2id verify) → the consent page
 * when shown (--consent asks for it with prompt=consent) → the redirect with the code → POST /token
 * for the tokens. Each virtual user repeats that with a new cookie jar.
 *
 * --threads sets UV_THREADPOOL_SIZE for the server and for the hash baseline: @node-rs/argon2 hashes
 * on libuv's thread pool, so with 1 the hash has one core and the event loop another; the baseline
 * (argon2id verifies per second at the configured parameters, same concurrency) is measured first,
 * alone, with the same pool size. PostgreSQL at GATEHOUSE_TEST_POSTGRES_URL (default
 * postgres://postgres@127.0.0.1:5432/test) in a fresh schema dropped at the end. Bounded: --warmup
 * seconds (default 5, at most 60; 1 before 2026-12-06's fourth session) of the same load, so that the
 * window measures the idp's steady state rather than V8 compiling its hot code, then --duration
 * seconds (at most 30) of load.
 *
 * Per core: during the measured window it reads from /proc the CPU time (user + system, all threads)
 * of the identity-provider process, of the PostgreSQL backends serving it (found by the client
 * ports of its connections, as run.ts finds them) and of this load driver, and prints CPU ms per
 * login next to the CPU ms one argon2id verify costs alone, so "logins per CPU-second of the idp"
 * (= per core) and the hash's share of a login's CPU are measured rather than inferred from
 * logins/s on a shared machine. The idp
 * also counts its SQL statements and commits per login (a wrapper around its Sql, bench only).
 *
 * --profile samples the idp's event loop during the measured window (V8's profiler in the idp,
 * `profile-by-package.ts`) and prints each package's share of the busy event loop and, from that
 * share, its ms per login: oidc-provider's own cost, the driver's, node:http's, ours. The profiler
 * inflates that run's CPU figures; read the shares, and the other figures from a run without it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { loadavg } from 'node:os';
import { findForms } from '@gatehouse/cli';
import { loadConfig, migrate, openSql, openState, type Sql, type SqlTx, silentLogger } from '@gatehouse/core';
import { openTestSql } from '@gatehouse/core/testing';
import {
  createIdp,
  createPasswordHasher,
  type IdpConfig,
  idpConfigSchema,
  idpMigrations,
  resolveAccountsConfig,
  seedDevelopmentFixtures,
} from '@gatehouse/idp';
import { calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client';
import { request } from 'undici';
import { benchArgs } from '../bench-args.ts';
import { childReady } from '../child-ready.ts';
import {
  postgresBackendsOf,
  processCpuSeconds,
  processCpuSplitSeconds,
  threadCpuSeconds,
} from '../process-cpu.ts';
import { startProfile, stopProfile } from './profile-by-package.ts';

const args = benchArgs(import.meta.url, {
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '8' },
  warmup: { type: 'string', default: '5' },
  threads: { type: 'string', default: '1' },
  consent: { type: 'boolean', default: false },
  'hash-baseline': { type: 'boolean', default: false },
  trace: { type: 'boolean', default: false },
  profile: { type: 'boolean', default: false },
  serve: { type: 'string' },
});

const duration = Math.min(Math.max(Number(args.duration) || 5, 1), 30);
const connections = Math.min(Math.max(Number(args.connections) || 8, 1), 64);
const warmup = Math.min(Math.max(Number(args.warmup) || 5, 1), 60);
const threads = Math.min(Math.max(Number(args.threads) || 1, 1), 16);

/**
 * Counts the statements the identity provider sends and the commits they cost: a statement outside a
 * transaction that writes is one commit (autocommit), a transaction is one commit. Keyed by the
 * statement's first words and table, to show which ones a login runs.
 */
class StatementCounter {
  statements = new Map<string, number>();
  commits = 0;
  reset(): void {
    this.statements.clear();
    this.commits = 0;
  }
  snapshot(): { statements: Record<string, number>; commits: number } {
    return { statements: Object.fromEntries(this.statements), commits: this.commits };
  }
  /** Statement text → its key and whether it writes: the idp sends few distinct texts. */
  #keys = new Map<string, { key: string; writes: boolean }>();
  #count(text: string, inTx: boolean): void {
    if (args.trace) {
      const flat = text.replace(/\s+/g, ' ').trim();
      process.stderr.write(`  SQL ${inTx ? '(in transaction) ' : ''}${flat.slice(0, 150)}\n`);
    }
    // Classifying a text costs the idp process CPU the bench measures: once per distinct text.
    let known = this.#keys.get(text);
    if (!known) {
      known = StatementCounter.classify(text);
      if (this.#keys.size < 10_000) this.#keys.set(text, known);
    }
    this.statements.set(known.key, (this.statements.get(known.key) ?? 0) + 1);
    if (!inTx && known.writes) this.commits++;
  }
  static classify(text: string): { key: string; writes: boolean } {
    const flat = text.replace(/\s+/g, ' ').trim();
    const verb = flat.split(' ')[0]!.toLowerCase();
    // The statement's own table, not one of its subqueries'.
    let outer = flat;
    for (
      let inner = outer.replace(/\([^()]*\)/g, '');
      inner !== outer;
      inner = outer.replace(/\([^()]*\)/g, '')
    )
      outer = inner;
    const table = /\b(?:from|into|update)\s+([a-z_]+)/i.exec(outer)?.[1] ?? '';
    const key = `${verb === 'with' ? 'with (batched writes)' : verb} ${table}`.trim();
    return { key, writes: verb !== 'select' };
  }
  wrap(sql: Sql): Sql {
    const tx = (inner: SqlTx): SqlTx => ({
      query: (text, params) => {
        this.#count(text, true);
        return inner.query(text, params);
      },
    });
    return {
      driver: sql.driver,
      query: (text, params) => {
        this.#count(text, false);
        return sql.query(text, params);
      },
      transaction: (fn) => {
        this.commits++;
        return sql.transaction((inner) => fn(tx(inner)));
      },
      ping: () => sql.ping(),
      close: () => sql.close(),
    };
  }
}

/** CPU ms (user + system, every thread) a process has used so far, from /proc; 0 once it is gone. */
function processCpuMs(pid: number): number {
  return (processCpuSeconds(pid) ?? 0) * 1000;
}

/** User and system CPU ms of a process, from /proc. */
function processCpuSplitMs(pid: number): { user: number; system: number } {
  const { user, system } = processCpuSplitSeconds(pid);
  return { user: user * 1000, system: system * 1000 };
}

// --- hash baseline (a child process, so UV_THREADPOOL_SIZE applies before the pool starts) ---------
if (args['hash-baseline']) {
  const params = resolveAccountsConfig({}).passwordHash;
  const hasher = createPasswordHasher(params);
  const stored = await hasher.hash('alice-password');
  const verifyFor = async (ms: number) => {
    let count = 0;
    const end = Date.now() + ms;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (Date.now() < end) {
          if (!(await hasher.verify(stored, 'alice-password'))) throw new Error('verify failed');
          count++;
        }
      }),
    );
    return count;
  };
  await verifyFor(1000);
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const count = await verifyFor(duration * 1000);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - started) / 1000;
  // All threads of this process (the event loop and libuv's pool, where argon2 runs).
  const cpuMsPerVerify = (cpu.user + cpu.system) / 1000 / count;
  process.stdout.write(`${JSON.stringify({ params, perSecond: count / seconds, cpuMsPerVerify })}\n`);
  process.exit(0);
}

// --- the identity provider alone (a child process: its own event loop, its own thread pool) --------
// Wired as `gatehouse dev` wires it (createIdp with its hosted pages, account store and session API;
// demo fixtures), without the gateway and the reference systems, whose hop is the gateway's cost.
if (args.serve) {
  const raw = await openSql({ driver: 'postgres', url: args.serve });
  await migrate(raw, [idpMigrations]);
  const counter = new StatementCounter();
  const sql = counter.wrap(raw);
  process.on('message', (m: string) => {
    if (m === 'reset') {
      counter.reset();
      if (args.profile) void startProfile();
    }
    if (m === 'stats')
      void (args.profile ? stopProfile() : Promise.resolve([])).then((packages) =>
        process.send!({ ...counter.snapshot(), packages }),
      );
  });
  const state = await openState({ driver: 'memory' });
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const http = createHttpServer((req, res) => handler!(req, res));
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const config = loadConfig<{ idp: IdpConfig }>({
    document: { idp: {} },
    sections: { idp: idpConfigSchema },
    env: {},
  }).idp;
  const idp = await createIdp({
    config,
    mode: 'development',
    publicUrl: origin,
    sql,
    state,
    logger: silentLogger(),
  });
  await seedDevelopmentFixtures(idp);
  handler = args.trace
    ? (req, res) => {
        process.stderr.write(`${req.method} ${req.url?.split('?')[0]}\n`);
        idp.handler(req, res);
      }
    : idp.handler;
  process.on('SIGTERM', () => {
    http.closeAllConnections();
    http.close();
    void idp
      .close()
      .then(() => state.close())
      .then(() => raw.close())
      .then(() => process.exit(0));
  });
  process.stdout.write(`READY ${origin}\n`);
  await new Promise(() => {});
}

async function hashBaseline(): Promise<{ params: object; perSecond: number; cpuMsPerVerify: number }> {
  const child = spawn(
    process.execPath,
    [
      new URL(import.meta.url).pathname,
      '--hash-baseline',
      '--duration',
      String(duration),
      '--connections',
      String(connections),
    ],
    { env: { ...process.env, UV_THREADPOOL_SIZE: String(threads) }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`hash baseline exited with ${code}`);
  return JSON.parse(out) as { params: object; perSecond: number; cpuMsPerVerify: number };
}

/** Time spent per request kind during the measured run, to show where a login's time goes. */
const steps = new Map<string, number[]>();
let recording = false;
function recordStep(name: string, ms: number): void {
  if (!recording) return;
  const list = steps.get(name) ?? [];
  list.push(ms);
  steps.set(name, list);
}

// --- one login, as a fresh browser ---------------------------------------------------------------
class StepError extends Error {}

async function oneLogin(origin: string): Promise<void> {
  const jar = new Map<string, string>();
  const redirectUri = `${origin}/callback`;
  async function go(url: URL, method = 'GET', form?: Record<string, string>) {
    const t0 = performance.now();
    const headers: Record<string, string> = { accept: 'text/html' };
    if (jar.size > 0) headers['cookie'] = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['origin'] = origin;
    }
    const res = await request(url, {
      method: method as 'GET',
      headers,
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const setCookie = res.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const pair = line.split(';')[0]!;
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), value);
    }
    const text = await res.body.text();
    const location = res.headers['location'];
    recordStep(`${method} ${url.pathname.replace(/[A-Za-z0-9_-]{16,}/g, ':id')}`, performance.now() - t0);
    return {
      status: res.statusCode,
      text,
      location: typeof location === 'string' ? new URL(location, url) : undefined,
    };
  }

  const verifier = randomPKCECodeVerifier();
  let url = new URL(`${origin}/auth/auth`);
  url.search = new URLSearchParams({
    client_id: 'demo-app',
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: args.consent ? 'openid profile offline_access' : 'openid profile',
    ...(args.consent ? { prompt: 'consent' } : {}),
    state: 'bench',
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  let res = await go(url);
  let code: string | undefined;
  for (let hop = 0; hop < 12 && !code; hop++) {
    if (res.location) {
      if (res.location.href.startsWith(`${redirectUri}?`)) {
        code = res.location.searchParams.get('code') ?? undefined;
        if (!code) throw new StepError(`callback without code: ${res.location.search}`);
        break;
      }
      url = res.location;
      res = await go(url);
      continue;
    }
    if (res.status !== 200) throw new StepError(`${url.pathname} answered ${res.status}`);
    const form = findForms(res.text, url).find((f) => f.method === 'post');
    if (!form) throw new StepError(`no form on ${url.pathname}`);
    const fields = { ...form.fields };
    if (form.passwordInputs.length > 0) {
      fields[form.textInputs[0]!] = 'alice';
      fields[form.passwordInputs[0]!] = 'alice-password';
    }
    url = form.action;
    res = await go(url, 'POST', fields);
  }
  if (!code) throw new StepError('no code after 12 hops');
  const t0 = performance.now();
  const token = await request(`${origin}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: 'demo-app',
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await token.body.json()) as { access_token?: string };
  recordStep('POST /auth/token', performance.now() - t0);
  if (token.statusCode !== 200 || !body.access_token)
    throw new StepError(`token answered ${token.statusCode}`);
}

async function load(
  origin: string,
  ms: number,
): Promise<{ samples: number[]; errors: Map<string, number>; seconds: number }> {
  const samples: number[] = [];
  const errors = new Map<string, number>();
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await oneLogin(origin);
          samples.push(performance.now() - t0);
        } catch (err) {
          const key =
            err instanceof StepError ? err.message.replace(/\/[A-Za-z0-9_-]{16,}/g, '/…') : String(err);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  return { samples, errors, seconds: (performance.now() - started) / 1000 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

// --- main ----------------------------------------------------------------------------------------
const command = `./node_modules/.bin/node bench/idp/login.ts --duration ${duration} --connections ${connections} --threads ${threads} --warmup ${warmup}${args.consent ? ' --consent' : ''}`;
console.log(`# ${command}`);
if (!args.trace)
  console.log(
    `# hash baseline: argon2id verifies, ${connections} at a time, UV_THREADPOOL_SIZE=${threads} …`,
  );
const baseline = args.trace
  ? { params: {}, perSecond: Number.NaN, cpuMsPerVerify: Number.NaN }
  : await hashBaseline();

const db = await openTestSql('postgres');
const serveUrl = new URL(db.url!);
const server = spawn(
  process.execPath,
  [
    new URL(import.meta.url).pathname,
    '--serve',
    serveUrl.href,
    ...(args.trace ? ['--trace'] : []),
    ...(args.profile ? ['--profile'] : []),
  ],
  {
    env: { ...process.env, UV_THREADPOOL_SIZE: String(threads) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  },
);
type ServerStats = { statements: Record<string, number>; commits: number; packages: [string, number][] };
function serverStats(): Promise<ServerStats> {
  server.send('stats');
  return once(server, 'message').then(([m]) => m as ServerStats);
}
/** The PostgreSQL backends serving the idp's connections (found by their client ports, process-cpu.ts). */
function backendPids(): number[] {
  return postgresBackendsOf(server.pid!, Number(serveUrl.port || 5432));
}
/** CPU ms so far of: the idp process, its PostgreSQL backends (by pid), this driver. */
async function cpuSnapshot() {
  const backends = new Map<number, number>();
  for (const pid of backendPids()) backends.set(pid, processCpuMs(pid));
  const own = process.cpuUsage();
  const idp = processCpuSplitMs(server.pid!);
  return {
    idp: idp.user + idp.system,
    idpSystem: idp.system,
    idpThreads: threadCpuSeconds(server.pid!),
    backends,
    driver: (own.user + own.system) / 1000,
  };
}
const serverExit = once(server, 'exit');
try {
  const origin = await childReady(server, 'the identity provider');
  console.log(
    `# identity provider (one process, as gatehouse dev wires it, no gateway) at ${origin}, PostgreSQL schema ${db.schema}; warm-up ${warmup} s, then ${duration} s`,
  );
  await oneLogin(origin); // fails loudly if the flow itself is broken
  if (args.trace) {
    // --trace: the requests and SQL statements of one more login, on stderr, and nothing else.
    console.error('--- one login:');
    await oneLogin(origin);
  } else {
    await load(origin, warmup * 1000); // JIT, connection pools, heap growth
    server.send('reset');
    const cpuBefore = await cpuSnapshot();
    recording = true;
    const run = await load(origin, duration * 1000);
    recording = false;
    const cpuAfter = await cpuSnapshot();
    const sqlStats = await serverStats();
    let pgMs = 0;
    // A backend opened during the window counts from zero; one closed during it is missed (the pool
    // is warm and its idle timeout is 60 s, so neither happens in practice).
    for (const [pid, after] of cpuAfter.backends) pgMs += after - (cpuBefore.backends.get(pid) ?? 0);
    const sorted = [...run.samples].sort((a, b) => a - b);
    const rate = sorted.length / run.seconds;
    const ratio = rate / baseline.perSecond;
    const ms = (n: number) => `${n.toFixed(1)} ms`;
    console.log('');
    console.log(
      '| scenario                      | logins/s | p50 | p99 | errors | argon2id verifies/s alone | logins ÷ hashes | load average |',
    );
    console.log(
      '| ----------------------------- | -------: | --: | --: | -----: | ------------------------: | --------------: | ------------ |',
    );
    console.log(
      `| password login (code flow${args.consent ? ', consent' : ''}) | ${rate.toFixed(1)} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 99))} | ${[...run.errors.values()].reduce((a, b) => a + b, 0)} | ${baseline.perSecond.toFixed(1)} | ${(ratio * 100).toFixed(0)} % | ${loadavg()[0]!.toFixed(1)} |`,
    );
    for (const [what, n] of run.errors) console.log(`# error ×${n}: ${what}`);
    const logins = Math.max(sorted.length, 1);
    const idpMs = (cpuAfter.idp - cpuBefore.idp) / logins;
    const idpSystemMs = (cpuAfter.idpSystem - cpuBefore.idpSystem) / logins;
    const hashMs = baseline.cpuMsPerVerify;
    const perCore = 1000 / idpMs;
    const pgPerLogin = pgMs / logins;
    const driverMs = (cpuAfter.driver - cpuBefore.driver) / logins;
    console.log('');
    console.log(
      '| logins/s | idp CPU ms/login | of which kernel | of which argon2id (alone, per verify) | rest of the flow | logins per idp CPU-second (per core) | hash share | PostgreSQL backends CPU ms/login | logins per CPU-second, idp + PostgreSQL | load driver CPU ms/login |',
    );
    console.log('| -------: | ---------------: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    console.log(
      `| ${rate.toFixed(1)} | ${idpMs.toFixed(1)} | ${idpSystemMs.toFixed(1)} | ${hashMs.toFixed(1)} | ${(idpMs - hashMs).toFixed(1)} | ${perCore.toFixed(1)} | ${((hashMs / idpMs) * 100).toFixed(0)} % | ${pgPerLogin.toFixed(1)} | ${(1000 / (idpMs + pgPerLogin)).toFixed(1)} | ${driverMs.toFixed(1)} |`,
    );
    // Per thread of the idp (by name): the event loop ("node") runs the flow, libuv's pool the hash.
    const perThread = [...cpuAfter.idpThreads]
      .map(
        ([name, seconds]) =>
          [name, ((seconds - (cpuBefore.idpThreads.get(name) ?? 0)) * 1000) / logins] as const,
      )
      .filter(([, perLogin]) => perLogin >= 0.05)
      .sort((a, b) => b[1] - a[1]);
    console.log('');
    console.log('| idp thread                    | CPU ms/login |');
    console.log('| ----------------------------- | -----------: |');
    for (const [name, perLogin] of perThread) console.log(`| ${name} | ${perLogin.toFixed(1)} |`);
    if (args.profile) {
      // Shares of the sampled busy event loop, turned into ms of the MainThread's CPU per login.
      const loopMs = perThread.find(([name]) => name === 'MainThread')?.[1] ?? Number.NaN;
      const busy = sqlStats.packages.reduce((sum, [, us]) => sum + us, 0);
      console.log('');
      console.log(`| idp event loop by package (--profile) | share | ms/login of the ${loopMs.toFixed(1)} |`);
      console.log('| ----------------------------- | ---: | ---: |');
      for (const [what, us] of sqlStats.packages.filter(([, us]) => us / busy >= 0.005)) {
        console.log(
          `| ${what} | ${((us / busy) * 100).toFixed(1)} % | ${((us / busy) * loopMs).toFixed(2)} |`,
        );
      }
    }
    console.log('');
    console.log(
      `| SQL per login (idp process)   | ${(Object.values(sqlStats.statements).reduce((a, b) => a + b, 0) / logins).toFixed(1)} statements, ${(sqlStats.commits / logins).toFixed(1)} commits |`,
    );
    console.log('| ----------------------------- | ---: |');
    for (const [what, n] of Object.entries(sqlStats.statements).sort((a, b) => b[1] - a[1])) {
      console.log(`| ${what} | ${(n / logins).toFixed(2)} |`);
    }
    console.log('');
    console.log('| request (per login)           | count/login | p50 | p99 |');
    console.log('| ----------------------------- | ----------: | --: | --: |');
    for (const [name, list] of steps) {
      const s = [...list].sort((a, b) => a - b);
      console.log(
        `| ${name} | ${(list.length / Math.max(sorted.length, 1)).toFixed(1)} | ${ms(percentile(s, 50))} | ${ms(percentile(s, 99))} |`,
      );
    }
    console.log('');
    console.log(
      `# argon2id parameters: ${JSON.stringify(baseline.params)}; ${connections} virtual users; UV_THREADPOOL_SIZE=${threads}`,
    );
    console.log(
      ratio >= 0.8
        ? `# limited by the password hash: ${rate.toFixed(1)} logins/s is ${(ratio * 100).toFixed(0)} % of the ${baseline.perSecond.toFixed(1)} verifies/s the hash alone allows`
        : `# NOT limited only by the password hash: ${rate.toFixed(1)} logins/s is ${(ratio * 100).toFixed(0)} % of the ${baseline.perSecond.toFixed(1)} verifies/s the hash alone allows; the rest of the flow costs the difference`,
    );
    console.log(
      `# per core: ${perCore.toFixed(1)} logins per CPU-second of the idp process (${idpMs.toFixed(1)} ms/login, of which ${hashMs.toFixed(1)} ms argon2id = ${((hashMs / idpMs) * 100).toFixed(0)} %); the hash alone would allow ${(1000 / hashMs).toFixed(1)} per CPU-second`,
    );
    console.log(
      `# target: at least 80 logins/s per core at these parameters — ${perCore >= 80 ? 'met' : 'not met'} (per idp CPU-second); ${rate >= 80 ? 'met' : 'not met'} in wall-clock logins/s on this shared machine`,
    );
  }
} finally {
  server.kill('SIGTERM');
  await serverExit;
  await db.cleanup();
}
