/**
 * Where a gateway case spends its CPU: runs one role of run.ts under `node --cpu-prof` while wrk
 * drives it, then prints the self time of the busiest functions (and files) of the profile.
 *
 *   ./node_modules/.bin/node bench/gateway/profile.ts [--case gw-es256] [--duration 10] [--top 40]
 *     [--save summary.json]
 *     cases: pool-only, gw-open, gw-es256, gw-es256-log, fwd-verifier (the ForwardAuth verifier alone)
 *
 * The profile file stays in the printed directory for a closer look (Chrome DevTools, speedscope).
 * Wrap it in `flock /tmp/gatehouse-bench.lock` when others benchmark on the machine.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from '../bench-args.ts';
import { startNginx } from './nginx.ts';
import { freePort, waitForPort } from './ports.ts';
import { benchToken } from './token.ts';

const args = benchArgs(import.meta.url, {
  case: { type: 'string', default: 'gw-es256' },
  duration: { type: 'string', default: '10' },
  connections: { type: 'string', default: '50' },
  top: { type: 'string', default: '40' },
  /** Also write { function: µs per request } to this JSON file, to compare two profiles. */
  save: { type: 'string' },
});

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-profile-'));
const [upstreamPort, port, nginxPort] = (await Promise.all([freePort(), freePort(), freePort()])) as [
  number,
  number,
  number,
];
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
const nginx = startNginx(
  dir,
  1,
  `  upstream verifier { server 127.0.0.1:${port}; keepalive 128; }
  server {
    listen 127.0.0.1:${upstreamPort};
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://verifier/validate;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
);
children.push(nginx);
await waitForPort(upstreamPort);

const { token, publicJwk } = await benchToken();
const kase = args.case;
const script =
  kase === 'pool-only'
    ? 'serve-pool.ts'
    : kase === 'fwd-verifier'
      ? 'serve-forward-auth.ts'
      : 'serve-gateway.ts';
const child = spawn(
  process.execPath,
  ['--cpu-prof', '--cpu-prof-dir', dir, new URL(script, import.meta.url).pathname],
  {
    env: {
      ...process.env,
      BENCH_PORT: String(port),
      BENCH_UPSTREAM: `http://127.0.0.1:${upstreamPort}`,
      BENCH_JWK: JSON.stringify(publicJwk),
      BENCH_AUTH: kase === 'gw-open' ? 'off' : 'on',
      BENCH_WORKERS: '1',
      BENCH_LOG_LEVEL: kase === 'gw-es256-log' ? 'info' : 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
children.push(child);
await waitForPort(port);

const url = kase === 'fwd-verifier' ? `http://127.0.0.1:${nginxPort}/` : `http://127.0.0.1:${port}/products`;
const headers = kase === 'gw-open' || kase === 'pool-only' ? [] : ['-H', `authorization: Bearer ${token}`];
const warmUp = execFileSync('wrk', ['-t1', '-c', args.connections, '-d1s', ...headers, url], {
  encoding: 'utf8',
});
const out = execFileSync('wrk', ['-t1', '-c', args.connections, '-d', `${args.duration}s`, ...headers, url], {
  encoding: 'utf8',
});
console.log(
  out
    .split('\n')
    .filter((l) => /Requests\/sec|requests in|Non-2xx/.test(l))
    .join('\n'),
);
// The profile covers the warm-up too.
const requests = [warmUp, out].reduce(
  (n, o) => n + Number(/(\d+) requests in/.exec(o)?.[1] ?? Number.NaN),
  0,
);

const exited = new Promise((r) => child.once('exit', r));
child.kill('SIGTERM');
await exited;
nginx.kill('SIGTERM');

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error(`no profile written in ${dir}`);
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
};
// µs of one sample on average; the profile also covers start-up and shutdown, a small share.
const usPerSample = (profile.endTime - profile.startTime) / profile.samples.length;
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
let idle = 0;
for (const n of profile.nodes) {
  const { functionName, url: u, lineNumber } = n.callFrame;
  total += n.hitCount;
  if (functionName === '(idle)') idle += n.hitCount;
  const short = u
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'nm:')
    .replace(/.*\/packages\//, '');
  const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + n.hitCount);
  const f = short || `(${functionName})`;
  byFile.set(f, (byFile.get(f) ?? 0) + n.hitCount);
}
const busy = total - idle;
byFile.delete('((idle))');
const pct = (n: number) =>
  `${((100 * n) / busy).toFixed(1).padStart(5)}% ${((n * usPerSample) / requests).toFixed(2).padStart(6)} µs/req`;
console.log(
  `\n${kase}: ${((busy * usPerSample) / requests).toFixed(1)} µs of busy main-thread time per request (idle excluded), profile ${join(dir, file)}\n\nby function (self):`,
);
for (const [k, v] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
  if (k.startsWith('(idle)')) continue;
  console.log(`${pct(v)}  ${k}`);
}
console.log('\nby file (self):');
for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(v)}  ${k}`);
if (args.save) {
  const perRequest = Object.fromEntries(
    [...byFunction]
      .filter(([k]) => !k.startsWith('(idle)'))
      .map(([k, v]) => [k, (v * usPerSample) / requests]),
  );
  writeFileSync(args.save, JSON.stringify(perRequest));
}
