/**
 * Gateway benchmark: everything on loopback, one run, same upstream, same load tool (wrk).
 *
 *   ./node_modules/.bin/node bench/gateway/run.ts [--duration 5] [--connections 50] [--threads 1] [--rounds 1] [--only a,b]
 *     [--baseline DIR]   also run gw-open-base and gw-es256-base on another copy of packages/gateway/src
 *     [--baseline-tree DIR]   the same cases on another checkout of the whole repository (e.g. a
 *                        `git worktree add` of an older commit with node_modules): its own gateway, sdk and core
 *     [--tree DIR]       gw-open, gw-es256 and their -log/-x2 variants from another checkout too, so that two
 *                        commits other than this one can be compared (--tree B --baseline-tree A)
 *     [--pairs N [--pair a,b]]   instead of the table: a and b (default gw-es256,fwd-auth) back to back
 *                        N times in ABBA order, both kept running, each pair's CPU ratio and p99s
 *
 * Cases (see README.md for what each measures and the figures it printed):
 *   upstream        wrk → upstream (nginx `return 200`, so the upstream is never the bottleneck)
 *   nginx-proxy     wrk → nginx proxy_pass → upstream (the practical ceiling of a proxy)
 *   pool-only       wrk → the gateway's upstream pool alone (no routing, auth, headers) → upstream
 *   gw-open         wrk → gateway, public route (no token) → upstream
 *   gw-es256        wrk → gateway verifying an ES256 bearer token → upstream
 *   gw-es256-log    the same with the JSON access log on (asynchronous stdout, as `gatehouse gateway` runs)
 *   gw-es256-x2     the same, 2 gateway processes sharing the port (SO_REUSEPORT)
 *   fwd-auth        wrk → nginx auth_request → Node token verifier → nginx → upstream (ForwardAuth)
 *   fwd-auth-x2     the same, 2 verifier processes
 * Needs the Debian packages `wrk` and `nginx` (apt-get install -y wrk nginx).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchArgs } from '../bench-args.ts';
import { startNginx } from './nginx.ts';
import { freePort, waitForPort } from './ports.ts';
import { benchToken } from './token.ts';

const args = benchArgs(import.meta.url, {
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '50' },
  threads: { type: 'string', default: '1' },
  only: { type: 'string' },
  rounds: { type: 'string', default: '1' },
  /** A copy of packages/gateway/src (inside the repository, for module resolution) to compare with. */
  baseline: { type: 'string' },
  /** Another checkout of the repository with its node_modules: its gateway, sdk and core as a whole. */
  'baseline-tree': { type: 'string' },
  /** Another checkout with its node_modules whose gateway replaces this one's in the gw-* cases. */
  tree: { type: 'string' },
  /** Measure two cases back to back N times instead of the table (see runPairs). */
  pairs: { type: 'string', default: '0' },
  pair: { type: 'string', default: 'gw-es256,fwd-auth' },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const THREADS = Number(args.threads);
const ROUNDS = Number(args.rounds);
const PAIRS = Number(args.pairs);
const only = args.only ? new Set(args.only.split(',')) : undefined;
const baselineTree = args['baseline-tree'] ? resolve(args['baseline-tree']) : undefined;
const tree = args.tree ? resolve(args.tree) : undefined;
if (args.baseline && baselineTree) {
  console.error('--baseline and --baseline-tree are two ways to name the baseline: give one');
  process.exit(2);
}
for (const dir of [baselineTree, tree]) {
  if (dir && !existsSync(join(dir, 'node_modules', '@gatehouse', 'gateway', 'package.json'))) {
    console.error(`${dir} is not a checkout with node_modules (no node_modules/@gatehouse/gateway)`);
    process.exit(2);
  }
}
/** A checkout named in the report by its commit, when it is a git checkout. */
function describeTree(dir: string): string {
  try {
    const commit = execFileSync('git', ['-C', dir, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' });
    return `the tree ${dir} at ${commit.trim().slice(0, 100)}`;
  } catch {
    return `the tree ${dir}`;
  }
}
/** Where the gateways of the report come from, when not (only) from this checkout. */
const baselineNote =
  [
    tree ? `gateway: ${describeTree(tree)}` : '',
    args.baseline ? `baseline: the gateway sources in ${args.baseline}` : '',
    baselineTree ? `baseline: ${describeTree(baselineTree)}` : '',
  ]
    .filter(Boolean)
    .join('; ') || undefined;

for (const tool of ['wrk', 'nginx']) {
  try {
    execFileSync('which', [tool], { stdio: 'pipe' });
  } catch {
    console.error(`${tool} is not installed: apt-get install -y wrk nginx`);
    process.exit(1);
  }
}

const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function start(file: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [new URL(file, import.meta.url).pathname], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  socketErrors: string;
  /** e.g. "200=51234 429=12", from status-count.lua. */
  statuses: string;
  requests: number;
  /** CPU time (user + system) of the system under test per request, in µs: see cpuTicks. */
  cpuUsPerRequest: number;
}

/**
 * CPU ticks (user + system, 1/100 s) used so far by the processes `roots` and all their
 * descendants (nginx workers, cluster workers), read from /proc. Unlike requests per second this
 * hardly moves when other work shares the machine, and it answers "how many requests per core".
 */
function cpuTicks(roots: number[]): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(entry), Number(fields[1]));
    ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
  }
  const wanted = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!wanted.has(pid) && wanted.has(ppid)) {
        wanted.add(pid);
        grew = true;
      }
    }
  }
  let sum = 0;
  for (const pid of wanted) sum += ticks.get(pid) ?? 0;
  return sum;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function wrk(url: string, seconds: number, headers: string[]): WrkResult {
  const out = execFileSync(
    'wrk',
    [
      '-t',
      String(THREADS),
      '-c',
      String(CONNECTIONS),
      '-d',
      `${seconds}s`,
      '--latency',
      ...headers.flatMap((h) => ['-H', h]),
      url,
    ],
    { encoding: 'utf8' },
  );
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN),
    p50: toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99: toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: /Socket errors: (.*)/.exec(out)?.[1] ?? 'none',
    statuses: /status counts: (.*)/.exec(out)?.[1]?.trim() ?? '?',
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN),
    cpuUsPerRequest: Number.NaN,
  };
}

/** One request, to prove the case is wired as claimed before measuring it. */
async function expectStatus(url: string, headers: Record<string, string>, status: number, what: string) {
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch {
    // A kept-alive connection that the server closed while idle (between two measurements of
    // --pairs, longer than its keep-alive timeout): once more, on a new connection.
    res = await fetch(url, { headers });
  }
  await res.arrayBuffer();
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status} from ${url}`);
}

// ---- set-up -----------------------------------------------------------------------------------

const { token, publicJwk } = await benchToken();
const auth = { authorization: `Bearer ${token}` };
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const [upstreamPort, nginxProxyPort, fwdPort, verifierPort] = (await Promise.all(
  Array.from({ length: 4 }, freePort),
)) as [number, number, number, number];
// One port per case that runs its own server, so that --pairs can keep two of them running.
const serverPorts = await Promise.all(Array.from({ length: 7 }, freePort));
const serverPort = (i: number) => serverPorts[i]!;
const upstream = `http://127.0.0.1:${upstreamPort}`;

const nginx = startNginx(
  dir,
  cpus().length,
  `  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  upstream verifier { server 127.0.0.1:${verifierPort}; keepalive 128; }
  # The upstream: a tiny JSON answer, cheap enough never to be the bottleneck.
  server {
    listen 127.0.0.1:${upstreamPort};
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
  # Plain reverse proxy, keep-alive to the upstream.
  server {
    listen 127.0.0.1:${nginxProxyPort};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  # ForwardAuth: every request first asks the verifier, then goes to the upstream with its identity.
  server {
    listen 127.0.0.1:${fwdPort};
    location = /_validate {
      internal;
      proxy_pass http://verifier/validate;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Uri $request_uri;
    }
    location / {
      auth_request /_validate;
      auth_request_set $user_id $upstream_http_x_user_id;
      auth_request_set $user_roles $upstream_http_x_user_roles;
      proxy_set_header X-User-ID $user_id;
      proxy_set_header X-User-Roles $user_roles;
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
);
children.push(nginx);
await Promise.all([waitForPort(upstreamPort), waitForPort(nginxProxyPort), waitForPort(fwdPort)]);

// ---- cases ------------------------------------------------------------------------------------

interface Case {
  id: string;
  label: string;
  url: string;
  headers: Record<string, string>;
  /** Start what the case needs; returns the processes to stop afterwards. */
  setUp?: () => Promise<ChildProcess[]>;
  /** A request that must be refused (proves authentication is really on). */
  refusedWithout?: boolean;
}

/** Where a gateway comes from when not from this checkout: a copy of its sources, or a whole other checkout. */
type Baseline = { BENCH_GATEWAY_MODULE: string } | { BENCH_TREE: string };
const current: Baseline | undefined = tree ? { BENCH_TREE: tree } : undefined;

const gateway =
  (port: number, workers: number, authOn: boolean, accessLog = false, baseline?: Baseline) =>
  async () => {
    const child = start('./serve-gateway.ts', {
      ...baseline,
      BENCH_PORT: String(port),
      BENCH_UPSTREAM: upstream,
      BENCH_JWK: JSON.stringify(publicJwk),
      BENCH_AUTH: authOn ? 'on' : 'off',
      BENCH_WORKERS: String(workers),
      BENCH_LOG_LEVEL: accessLog ? 'info' : 'warn',
    });
    // Loading a whole gateway takes a few seconds, and several times that on a busy machine.
    await waitForPort(port, 60_000);
    return [child];
  };

const verifier = (workers: number) => async () => {
  const child = start('./serve-forward-auth.ts', {
    BENCH_PORT: String(verifierPort),
    BENCH_JWK: JSON.stringify(publicJwk),
    BENCH_WORKERS: String(workers),
  });
  await waitForPort(verifierPort);
  return [child];
};

const poolOnly = (port: number) => async () => {
  const child = start('./serve-pool.ts', { BENCH_PORT: String(port), BENCH_UPSTREAM: upstream });
  await waitForPort(port);
  return [child];
};

const gw = (i: number) => `http://127.0.0.1:${serverPort(i)}/products`;
const baseline: Baseline | undefined = args.baseline
  ? { BENCH_GATEWAY_MODULE: resolve(args.baseline, 'index.ts') }
  : baselineTree
    ? { BENCH_TREE: baselineTree }
    : undefined;
const cases: Case[] = [
  { id: 'upstream', label: 'upstream directly', url: `${upstream}/products`, headers: {} },
  {
    id: 'nginx-proxy',
    label: 'nginx proxy_pass',
    url: `http://127.0.0.1:${nginxProxyPort}/products`,
    headers: {},
  },
  {
    id: 'pool-only',
    label: 'upstream pool alone, no pipeline (1 process)',
    url: gw(0),
    headers: {},
    setUp: poolOnly(serverPort(0)),
  },
  {
    id: 'gw-open',
    label: 'gateway, auth off (1 process)',
    url: gw(1),
    headers: {},
    setUp: gateway(serverPort(1), 1, false, false, current),
  },
  {
    id: 'gw-es256',
    label: 'gateway, ES256 token (1 process)',
    url: gw(2),
    headers: auth,
    setUp: gateway(serverPort(2), 1, true, false, current),
    refusedWithout: true,
  },
  ...(baseline
    ? [
        {
          id: 'gw-open-base',
          label: 'baseline gateway, auth off (1 process)',
          url: gw(3),
          headers: {},
          setUp: gateway(serverPort(3), 1, false, false, baseline),
        },
        {
          id: 'gw-es256-base',
          label: 'baseline gateway, ES256 token (1 process)',
          url: gw(4),
          headers: auth,
          setUp: gateway(serverPort(4), 1, true, false, baseline),
          refusedWithout: true,
        },
      ]
    : []),
  {
    id: 'gw-es256-log',
    label: 'gateway, ES256 token, JSON access log (1 process)',
    url: gw(5),
    headers: auth,
    setUp: gateway(serverPort(5), 1, true, true, current),
    refusedWithout: true,
  },
  {
    id: 'gw-es256-x2',
    label: 'gateway, ES256 token (2 reusePort workers)',
    url: gw(6),
    headers: auth,
    setUp: gateway(serverPort(6), 2, true, false, current),
    refusedWithout: true,
  },
  {
    id: 'fwd-auth',
    label: 'nginx auth_request → Node verifier (1 process)',
    url: `http://127.0.0.1:${fwdPort}/products`,
    headers: auth,
    setUp: verifier(1),
    refusedWithout: true,
  },
  {
    id: 'fwd-auth-x2',
    label: 'nginx auth_request → Node verifier (2 workers)',
    url: `http://127.0.0.1:${fwdPort}/products`,
    headers: auth,
    setUp: verifier(2),
    refusedWithout: true,
  },
];

/**
 * Checks the case answers as claimed, warms it up for a second (JIT, connection pools, token
 * cache), then measures it with wrk and reads the CPU of nginx and of `started` around it.
 */
async function measure(c: Case, started: ChildProcess[]): Promise<WrkResult> {
  await expectStatus(c.url, c.headers, 200, c.label);
  if (c.refusedWithout) await expectStatus(c.url, {}, 401, `${c.label} without a token`);
  const headerArgs = Object.entries(c.headers).map(([k, v]) => `${k}: ${v}`);
  wrk(c.url, 1, headerArgs);
  const underTest = [nginx.pid!, ...started.map((child) => child.pid!)];
  const cpuBefore = cpuTicks(underTest);
  const r = wrk(c.url, DURATION, headerArgs);
  r.cpuUsPerRequest = ((cpuTicks(underTest) - cpuBefore) * 10_000) / r.requests;
  return r;
}

const loadBefore = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const pad = (s: string, n: number) => s.padEnd(n);
const padL = (s: string, n: number) => s.padStart(n);

if (PAIRS > 0) {
  await runPairs();
  process.exit(0);
}

/**
 * --pairs N: the two cases of --pair, both started once and kept running, measured back to back N
 * times. Pair i runs a then b when i is odd, b then a when even (ABBA: a drift over the run
 * touches both cases alike), each measurement after its own warm-up. Every pair is printed, and
 * the summary is over all of them: the median and the spread of CPU(b) ÷ CPU(a), i.e. how many
 * more requests per core a serves, and each case's p99.
 */
async function runPairs(): Promise<void> {
  const ids = args.pair.split(',');
  const pair = ids.map((id) => cases.find((c) => c.id === id));
  const [a, b] = pair;
  // fwd-auth and fwd-auth-x2 share the verifier's port: they cannot run side by side.
  if (pair.length !== 2 || !a || !b || a.id === b.id || (a.url === b.url && a.setUp && b.setUp)) {
    throw new Error(
      `--pair wants two cases that can run side by side, of: ${cases.map((c) => c.id).join(', ')}`,
    );
  }
  const started = new Map<string, ChildProcess[]>();
  const rows: { order: string; a: WrkResult; b: WrkResult }[] = [];
  try {
    for (const c of [a, b]) started.set(c.id, (await c.setUp?.()) ?? []);
    for (let i = 1; i <= PAIRS; i++) {
      const aFirst = i % 2 === 1;
      const got = new Map<string, WrkResult>();
      for (const c of aFirst ? [a, b] : [b, a]) got.set(c.id, await measure(c, started.get(c.id)!));
      const row = { order: aFirst ? 'ab' : 'ba', a: got.get(a.id)!, b: got.get(b.id)! };
      rows.push(row);
      process.stderr.write(
        `pair ${i} (${row.order}): ${a.id} ${row.a.cpuUsPerRequest.toFixed(1)} µs, ${b.id} ${row.b.cpuUsPerRequest.toFixed(1)} µs CPU/request\n`,
      );
    }
  } finally {
    for (const list of started.values()) for (const child of list) await stop(child);
    await stop(nginx);
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const errorsOf = (r: WrkResult) =>
    [r.non2xx ? `non-2xx: ${r.statuses}` : '', r.socketErrors !== 'none' ? r.socketErrors : '']
      .filter(Boolean)
      .join('; ');
  const sorted = (xs: number[]) => xs.toSorted((x, y) => x - y);
  /** The middle value (the mean of the two middle ones for an even count). */
  const mid = (xs: number[]) => {
    const s = sorted(xs);
    const h = Math.floor(s.length / 2);
    return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
  };
  console.log(
    `\n${a.id} and ${b.id} back to back, ${PAIRS} pair(s) in ABBA order: wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s after 1 s of warm-up each, on loopback, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average before: ${loadBefore}, after: ${loadAfter}`,
  );
  if (baselineNote) console.log(baselineNote);
  console.log(
    'CPU µs/req: user+system CPU of nginx and the Node processes of the case (not wrk) per request\n',
  );
  const w = [6, 7, Math.max(14, a.id.length + 6), Math.max(14, b.id.length + 6), 10, 10, 10];
  console.log(
    `${pad('pair', w[0]!)}${pad('order', w[1]!)}${padL(`${a.id} µs`, w[2]!)}${padL(`${b.id} µs`, w[3]!)}${padL('b ÷ a', w[4]!)}${padL('p99 a ms', w[5]!)}${padL('p99 b ms', w[6]!)}  errors`,
  );
  rows.forEach((r, i) => {
    const errors = [errorsOf(r.a) && `a: ${errorsOf(r.a)}`, errorsOf(r.b) && `b: ${errorsOf(r.b)}`]
      .filter(Boolean)
      .join('; ');
    console.log(
      `${pad(String(i + 1), w[0]!)}${pad(r.order, w[1]!)}${padL(r.a.cpuUsPerRequest.toFixed(1), w[2]!)}${padL(r.b.cpuUsPerRequest.toFixed(1), w[3]!)}${padL(`${(r.b.cpuUsPerRequest / r.a.cpuUsPerRequest).toFixed(2)}×`, w[4]!)}${padL(r.a.p99.toFixed(2), w[5]!)}${padL(r.b.p99.toFixed(2), w[6]!)}  ${errors || '-'}`,
    );
  });
  const ratios = sorted(rows.map((r) => r.b.cpuUsPerRequest / r.a.cpuUsPerRequest));
  const q = (p: number) => ratios[Math.round(p * (ratios.length - 1))]!;
  const x = (n: number) => `${n.toFixed(2)}×`;
  console.log(
    `\nrequests per core, ${a.id} ÷ ${b.id} (CPU of ${b.id} ÷ CPU of ${a.id}, per pair): median ${x(mid(ratios))}, min ${x(ratios[0]!)}, max ${x(ratios.at(-1)!)}, quartiles ${x(q(0.25))}–${x(q(0.75))}${b.id === 'fwd-auth' ? `; at least 2× in ${ratios.filter((r) => r >= 2).length} of ${ratios.length} pairs` : ''}`,
  );
  console.log(
    `CPU µs/req, median: ${a.id} ${mid(rows.map((r) => r.a.cpuUsPerRequest)).toFixed(1)}, ${b.id} ${mid(rows.map((r) => r.b.cpuUsPerRequest)).toFixed(1)}`,
  );
  console.log(
    `p99 ms, median: ${a.id} ${mid(rows.map((r) => r.a.p99)).toFixed(2)}, ${b.id} ${mid(rows.map((r) => r.b.p99)).toFixed(2)}; ${a.id} lower in ${rows.filter((r) => r.a.p99 < r.b.p99).length} of ${rows.length} pairs`,
  );
  const failed = rows.flatMap((r) => [r.a, r.b]).filter((r) => errorsOf(r) !== '').length;
  console.log(
    `errors: ${failed === 0 ? `none in ${rows.length * 2} measurements` : `${failed} of ${rows.length * 2} measurements had errors (listed above)`}`,
  );
  console.log(
    `\nreproduce: ./node_modules/.bin/node bench/gateway/run.ts --duration ${DURATION} --connections ${CONNECTIONS} --threads ${THREADS} --pairs ${PAIRS} --pair ${args.pair}${args.baseline ? ` --baseline ${args.baseline}` : ''}${tree ? ` --tree ${args.tree}` : ''}${baselineTree ? ` --baseline-tree ${args['baseline-tree']}` : ''}`,
  );
}

// Rounds interleave the cases, so a burst of outside load hits all of them alike; each case
// reports its median round by requests per second.
const rounds = new Map<string, WrkResult[]>();
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of cases) {
      if (only && !only.has(c.id)) continue;
      const started = (await c.setUp?.()) ?? [];
      try {
        const r = await measure(c, started);
        rounds.set(c.id, [...(rounds.get(c.id) ?? []), r]);
        process.stderr.write(
          `round ${round}: ${c.label}: ${r.rps.toFixed(0)} req/s, ${r.cpuUsPerRequest.toFixed(0)} µs CPU/request\n`,
        );
      } finally {
        for (const child of started) await stop(child);
      }
    }
  }
} finally {
  await stop(nginx);
  rmSync(dir, { recursive: true, force: true });
}
const results = new Map<string, WrkResult>();
for (const [id, list] of rounds) {
  const sorted = list.toSorted((a, b) => a.rps - b.rps);
  results.set(id, sorted[Math.floor((sorted.length - 1) / 2)]!);
}

// ---- report -----------------------------------------------------------------------------------

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
/** Median CPU µs per request of each case, and the same minus the upstream's own share. */
const cpu = new Map<string, number>();
for (const [id, list] of rounds) cpu.set(id, median(list.map((r) => r.cpuUsPerRequest)));
/**
 * Median over the rounds of CPU(a) ÷ CPU(b) measured in the same round: outside load moves every
 * case of a round alike, so a ratio within a round is steadier than a ratio of medians.
 */
const pairedCpuRatio = (a: string, b: string): number | undefined => {
  const la = rounds.get(a);
  const lb = rounds.get(b);
  if (!la || !lb || la.length !== lb.length) return undefined;
  return median(la.map((r, i) => r.cpuUsPerRequest / lb[i]!.cpuUsPerRequest));
};
const upstreamCpu = cpu.get('upstream') ?? 0;
const layerCpu = (id: string) => (cpu.get(id) ?? Number.NaN) - (id === 'upstream' ? 0 : upstreamCpu);

const fwd = results.get('fwd-auth');
const proxy = results.get('nginx-proxy');
const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—';
/** 1 − r as a percentage: the share of requests per core lost to what the ratio measures. */
const pctOf = (r: number | undefined) => (r === undefined ? '—' : `${((1 - r) * 100).toFixed(1)}%`);

console.log(
  `\nwrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}s, median of ${ROUNDS} round(s), on loopback, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average before: ${loadBefore}`,
);
if (baselineNote) console.log(baselineNote);
console.log(
  "CPU µs/req: user+system CPU of every process under test (nginx, Node; not wrk) per request; layer: the same minus the upstream's own\n",
);
console.log(
  `${pad('case', 48)}${padL('req/s', 8)}${padL('p50 ms', 8)}${padL('p99 ms', 8)}${padL('CPU µs/req', 12)}${padL('layer', 7)}${padL('÷ fwd-auth', 12)}${padL('÷ nginx', 9)}  errors`,
);
for (const c of cases) {
  const r = results.get(c.id);
  if (!r) continue;
  const errors = [r.non2xx ? `non-2xx: ${r.statuses}` : '', r.socketErrors !== 'none' ? r.socketErrors : '']
    .filter(Boolean)
    .join('; ');
  console.log(
    `${pad(c.label, 48)}${padL(r.rps.toFixed(0), 8)}${padL(r.p50.toFixed(2), 8)}${padL(r.p99.toFixed(2), 8)}${padL((cpu.get(c.id) ?? Number.NaN).toFixed(0), 12)}${padL(layerCpu(c.id).toFixed(0), 7)}${padL(ratio(r.rps, fwd?.rps), 12)}${padL(ratio(r.rps, proxy?.rps), 9)}  ${errors || '-'}`,
  );
}
const open = results.get('gw-open');
const es = results.get('gw-es256');
if (open && es) {
  console.log(
    `\nverification cost, gw-es256 vs gw-open: ${((1 - es.rps / open.rps) * 100).toFixed(1)}% of throughput (req/s), ${((1 - (cpu.get('gw-open') ?? 0) / (cpu.get('gw-es256') ?? 0)) * 100).toFixed(1)}% of requests per core (CPU; ${pctOf(pairedCpuRatio('gw-open', 'gw-es256'))} paired by round), ${(layerCpu('gw-es256') - layerCpu('gw-open')).toFixed(0)} µs CPU per request`,
  );
}
if (es && fwd) {
  console.log(
    `p99, gateway ES256 vs ForwardAuth: ${es.p99.toFixed(2)} ms vs ${fwd.p99.toFixed(2)} ms (median round by req/s)`,
  );
}
for (const [now, base] of [
  ['gw-open', 'gw-open-base'],
  ['gw-es256', 'gw-es256-base'],
] as const) {
  if (cpu.has(now) && cpu.has(base)) {
    console.log(
      `${now} against the baseline: ${(layerCpu(now) - layerCpu(base)).toFixed(0)} µs CPU per request, ${ratio(pairedCpuRatio(base, now), 1)} requests per core (paired by round)`,
    );
  }
}
if (cpu.has('gw-es256-log') && cpu.has('gw-es256')) {
  console.log(
    `JSON access log, gw-es256-log vs gw-es256: ${(layerCpu('gw-es256-log') - layerCpu('gw-es256')).toFixed(0)} µs CPU per request`,
  );
}
if (cpu.has('gw-es256') && cpu.has('fwd-auth')) {
  console.log(
    `requests per core, gateway ES256 ÷ ForwardAuth: ${ratio(cpu.get('fwd-auth'), cpu.get('gw-es256'))} (whole system), ${ratio(layerCpu('fwd-auth'), layerCpu('gw-es256'))} (auth + proxy layer only), ${ratio(pairedCpuRatio('fwd-auth', 'gw-es256'), 1)} (whole system, paired by round)`,
  );
}
if (cpu.has('gw-es256') && cpu.has('nginx-proxy')) {
  console.log(
    `auth + proxy layer CPU, gateway ES256 ÷ nginx proxy_pass: ${ratio(layerCpu('gw-es256'), layerCpu('nginx-proxy'))}`,
  );
}
const es2 = results.get('gw-es256-x2');
const fwd2 = results.get('fwd-auth-x2');
if (es2 && fwd2) console.log(`throughput, gateway x2 ÷ ForwardAuth x2: ${ratio(es2.rps, fwd2.rps)}`);
console.log(
  `\nreproduce: ./node_modules/.bin/node bench/gateway/run.ts --duration ${DURATION} --connections ${CONNECTIONS} --threads ${THREADS} --rounds ${ROUNDS}${args.only ? ` --only ${args.only}` : ''}${args.baseline ? ` --baseline ${args.baseline}` : ''}${tree ? ` --tree ${args.tree}` : ''}${baselineTree ? ` --baseline-tree ${args['baseline-tree']}` : ''}`,
);
