/**
 * Identity provider benchmark on one idp process (one event loop: at most one core), PostgreSQL storage.
 *
 *   ./node_modules/.bin/node bench/idp/run.ts [--scenario client-credentials|refresh] [--duration 5] [--connections 16]
 *
 * - client-credentials: wrk (a separate C process) posts `grant_type=client_credentials` with
 *   client_secret_basic as fast as the idp answers.
 * - refresh: `--connections` users, each chaining `grant_type=refresh_token` with the rotated token
 *   the previous answer returned (wrk cannot chain), from this Node process while the idp runs in its
 *   child process. Every refresh rotates the token and issues an ID token and a JWT access token.
 *
 * Needs wrk (apt-get install -y wrk) and PostgreSQL at GATEHOUSE_TEST_POSTGRES_URL
 * (default postgres://postgres@127.0.0.1:5432/test). Bounded: one warm-up second, then --duration seconds.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'client-credentials' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
  },
});
const scenario = args.scenario;
if (scenario !== 'client-credentials' && scenario !== 'refresh') {
  console.error('--scenario is client-credentials or refresh');
  process.exit(2);
}
const duration = Math.min(Math.max(Number(args.duration), 1), 60);
const connections = Math.min(Math.max(Number(args.connections), 1), 256);

const child = spawn(process.execPath, [new URL('./serve.ts', import.meta.url).pathname], {
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
  rps: number;
  p50: string;
  p99: string;
  errors: string;
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
  const wrk = (seconds: number) =>
    execFileSync(
      'wrk',
      ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `${origin}/auth/token`],
      { encoding: 'utf8' },
    );
  try {
    wrk(1); // warm-up: JIT, connection pools
    const out = wrk(duration);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
    return {
      rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
      p50: /\s50%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?',
      p99: /\s99%\s+([\d.]+\w+)/.exec(out)?.[1] ?? '?',
      errors: `non-2xx ${non2xx}, socket errors ${/Socket errors: (.*)/.exec(out)?.[1] ?? 'none'}`,
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
  await run(1, false);
  const started = performance.now();
  await run(duration, true);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    `${(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2)}ms`;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors: `failed ${failures}` };
}

try {
  const result = scenario === 'refresh' ? await refresh() : clientCredentials();
  console.log(
    `command: ./node_modules/.bin/node bench/idp/run.ts --scenario ${scenario} --duration ${duration} --connections ${connections}`,
  );
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `scenario: POST /auth/token grant_type=${scenario === 'refresh' ? 'refresh_token' : 'client_credentials'}, ES256, one idp process, PostgreSQL`,
  );
  console.log(
    `requests/s: ${result.rps.toFixed(0)}  p50: ${result.p50}  p99: ${result.p99}  errors: ${result.errors}`,
  );
} finally {
  child.kill('SIGTERM');
}
