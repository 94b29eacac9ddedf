/**
 * Identity provider benchmark on one idp process (one event loop: at most one core), PostgreSQL storage.
 *
 *   ./node_modules/.bin/node bench/idp/run.ts [--scenario client-credentials|refresh] [--duration 5] [--connections 16]
 *                                             [--warmup 5] [--cpu-prof-dir DIR]   (a V8 CPU profile of the idp process)
 *
 * - client-credentials: wrk (a separate C process) posts `grant_type=client_credentials` with
 *   client_secret_basic as fast as the idp answers.
 * - refresh: `--connections` users, each chaining `grant_type=refresh_token` with the rotated token
 *   the previous answer returned (wrk cannot chain), from this Node process while the idp runs in its
 *   child process. Every refresh rotates the token and issues an ID token and a JWT access token.
 *
 * Besides requests/s it prints the CPU time (user + system, from /proc) each party used during the
 * measured window: the idp process, the PostgreSQL backends serving its connections, the load
 * generator (wrk, or this process for refresh), and the machine. "Per core" is requests per
 * CPU-second of the idp process, which a shared machine does not distort the way it distorts req/s.
 *
 * Needs Linux, wrk (apt-get install -y wrk) and PostgreSQL on this machine at GATEHOUSE_TEST_POSTGRES_URL
 * (default postgres://postgres@127.0.0.1:5432/test). Bounded: --warmup seconds of the same load, then
 * --duration seconds.
 *
 * --warmup (default 5, at most 60): the load runs this long before the measured window, so that the
 * window measures the idp in its steady state rather than V8 compiling its hot code (with one second,
 * as before 2026-12-06's fourth session, the optimizing compiler was still at work in the window:
 * 15–35 % more idp CPU per refresh on the slower instance, on the event loop, V8's helper threads and in
 * the kernel).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { benchArgs } from '../bench-args.ts';
import {
  allPostgresProcesses,
  childrenCpuSecondsFromStat,
  cpuDelta,
  cpuOf,
  machineCpuTicks,
  postgresBackendsOf,
  processCpuSeconds,
  processCpuSplitSeconds,
  threadCpuSeconds,
} from '../process-cpu.ts';

const args = benchArgs(import.meta.url, {
  scenario: { type: 'string', default: 'client-credentials' },
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '16' },
  warmup: { type: 'string', default: '5' },
  // A directory: the idp process writes a V8 CPU profile (.cpuprofile) there when it stops.
  'cpu-prof-dir': { type: 'string' },
});
const scenario = args.scenario;
if (scenario !== 'client-credentials' && scenario !== 'refresh') {
  console.error('--scenario is client-credentials or refresh');
  process.exit(2);
}
const duration = Math.min(Math.max(Number(args.duration), 1), 60);
const connections = Math.min(Math.max(Number(args.connections), 1), 256);
const warmup = Math.min(Math.max(Number(args.warmup) || 5, 1), 60);

const profile = args['cpu-prof-dir'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof-dir']}`] : [];
const child = spawn(process.execPath, [...profile, new URL('./serve.ts', import.meta.url).pathname], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, BENCH_REFRESH_TOKENS: scenario === 'refresh' ? String(connections) : '0' },
});
let refreshTokens: string[] = [];
const origin = await new Promise<string>((resolve, reject) => {
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    if (line.startsWith('TOKENS ')) refreshTokens = JSON.parse(line.slice(7)) as string[];
    if (line.startsWith('READY ')) resolve(line.slice(6));
  });
  child.on('exit', (code) => reject(new Error(`idp exited with ${code}`)));
});

interface Result {
  requests: number;
  seconds: number;
  p50: string;
  p99: string;
  errors: string;
  /** CPU seconds of the load generator during the window. */
  loadCpu: number;
  loadName: string;
  cpu: CpuWindow;
}

/** CPU of the idp, its PostgreSQL backends, all PostgreSQL processes and the machine over a window. */
interface CpuWindow {
  idp: number;
  /** Of `idp`, the kernel's part (system time: socket reads and writes, mostly). */
  idpSystem: number;
  /** The idp's CPU per thread name: MainThread (the event loop), libuv-worker (WebCrypto signing), V8Worker (GC, JIT). */
  idpThreads: Map<string, number>;
  backends: number;
  backendCount: number;
  postgres: number;
  machineBusyCores: number;
}

function startCpuWindow(): () => CpuWindow {
  const idpPid = child.pid!;
  const idp0 = processCpuSeconds(idpPid) ?? 0;
  const system0 = processCpuSplitSeconds(idpPid).system;
  const threads0 = threadCpuSeconds(idpPid);
  const backends = postgresBackendsOf(idpPid);
  const backends0 = cpuOf(backends);
  const postgres0 = cpuOf(allPostgresProcesses());
  const machine0 = machineCpuTicks();
  return () => {
    const idp1 = processCpuSeconds(idpPid) ?? idp0;
    const system1 = processCpuSplitSeconds(idpPid).system;
    const threads1 = threadCpuSeconds(idpPid);
    // Backends opened during the window count in full.
    const backendsNow = [...new Set([...backends, ...postgresBackendsOf(idpPid)])];
    const backends1 = cpuOf(backendsNow);
    const postgres1 = cpuOf(allPostgresProcesses());
    const machine1 = machineCpuTicks();
    return {
      idp: idp1 - idp0,
      idpSystem: system1 - system0,
      idpThreads: new Map([...threads1].map(([name, s]) => [name, s - (threads0.get(name) ?? 0)])),
      backends: cpuDelta(backends0, backends1),
      backendCount: backends1.size,
      postgres: cpuDelta(postgres0, postgres1),
      machineBusyCores:
        ((machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total)) * cpus().length,
    };
  };
}

function clientCredentials(): Result {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-idp-'));
  const script = join(dir, 'client-credentials.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}"
`,
  );
  // Through a shell that prints its own /proc stat once wrk has exited: its cutime + cstime are wrk's CPU.
  const wrk = (seconds: number) =>
    execFileSync(
      'sh',
      [
        '-c',
        'wrk "$@"; status=$?; echo "SHELL_STAT $(cat /proc/$$/stat)"; exit $status',
        'sh',
        '-t1',
        `-c${connections}`,
        `-d${seconds}s`,
        '--latency',
        '-s',
        script,
        `${origin}/auth/token`,
      ],
      { encoding: 'utf8' },
    );
  try {
    wrk(warmup); // warm-up: JIT, connection pools
    const endCpuWindow = startCpuWindow();
    const out = wrk(duration);
    const cpu = endCpuWindow();
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    const total = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
    const shellStat = /^SHELL_STAT (.*)$/m.exec(out)?.[1];
    return {
      requests: Number(total?.[1]),
      seconds: Number(total?.[2]) / (total?.[3] === 'ms' ? 1000 : 1),
      p50: /\s50%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?',
      p99: /\s99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?',
      errors: `non-2xx ${non2xx}, socket errors ${/Socket errors: (.*)/.exec(out)?.[1] ?? 'none'}`,
      loadCpu: shellStat ? childrenCpuSecondsFromStat(shellStat) : Number.NaN,
      loadName: 'wrk',
      cpu,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function refresh(): Promise<Result> {
  const tokens = [...refreshTokens];
  const latencies: number[] = [];
  let failures = 0;
  async function user(i: number, until: number, record: boolean): Promise<void> {
    while (performance.now() < until) {
      const started = performance.now();
      const res = await fetch(`${origin}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: tokens[i]!,
          client_id: 'demo-app',
        }),
      });
      const body = (await res.json()) as { refresh_token?: string };
      if (res.status !== 200 || !body.refresh_token) {
        failures++;
        return; // the chain is broken: this user stops
      }
      tokens[i] = body.refresh_token;
      if (record) latencies.push(performance.now() - started);
    }
  }
  const run = (seconds: number, record: boolean) => {
    const until = performance.now() + seconds * 1000;
    return Promise.all(tokens.map((_, i) => user(i, until, record)));
  };
  await run(warmup, false); // warm-up: JIT, connection pools
  const endCpuWindow = startCpuWindow();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await run(duration, true);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const window = endCpuWindow();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    `${(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2)}ms`;
  return {
    requests: latencies.length,
    seconds: elapsed,
    p50: at(0.5),
    p99: at(0.99),
    errors: `failed ${failures}`,
    loadCpu: (cpu.user + cpu.system) / 1e6,
    loadName: 'the runner, this Node process',
    cpu: window,
  };
}

try {
  const result = scenario === 'refresh' ? await refresh() : clientCredentials();
  console.log(
    `command: ./node_modules/.bin/node bench/idp/run.ts --scenario ${scenario} --duration ${duration} --connections ${connections} --warmup ${warmup}`,
  );
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `scenario: POST /auth/token grant_type=${scenario === 'refresh' ? 'refresh_token' : 'client_credentials'}, ES256, one idp process, PostgreSQL`,
  );
  const { cpu, requests, seconds } = result;
  const cores = (s: number) => (s / seconds).toFixed(2);
  const perRequest = (s: number) => `${Math.round((s / requests) * 1e6).toLocaleString('en')} µs/request`;
  const row = (name: string, s: number, note: string) =>
    console.log(`  ${name.padEnd(16)} ${cores(s).padStart(5)} cores  ${perRequest(s).padStart(16)}  ${note}`);
  console.log(
    `requests/s: ${(requests / seconds).toFixed(0)}  p50: ${result.p50}  p99: ${result.p99}  errors: ${result.errors}`,
  );
  console.log(
    `CPU in the ${seconds.toFixed(2)} s window (user+system from /proc; cores = CPU-seconds per second):`,
  );
  row('idp process', cpu.idp, `all its threads (kernel ${perRequest(cpu.idpSystem)}):`);
  for (const [name, s] of [...cpu.idpThreads].sort((a, b) => b[1] - a[1]))
    if (s >= 0.005 * seconds) row(`  ${name}`, s, '');
  row('PostgreSQL', cpu.backends, `${cpu.backendCount} backends of the idp`);
  row('  all postgres', cpu.postgres, 'every postgres process: the above, WAL writer, other clients');
  row('load generator', result.loadCpu, result.loadName);
  console.log(`  machine          ${cpu.machineBusyCores.toFixed(2)} of ${cpus().length} cores busy`);
  const target = scenario === 'refresh' ? 1200 : 2000;
  const perCore = requests / cpu.idp;
  console.log(
    `per core: ${perCore.toFixed(0)} requests per idp CPU-second (target ${target.toLocaleString('en')}: ${perCore >= target ? 'met' : 'not met'})`,
  );
} finally {
  // Wait for the idp to stop: it drops its schema, and writes its CPU profile when asked to.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
}
