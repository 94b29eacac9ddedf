// bench/startup: time from starting `gatehouse dev` (what `npm start` runs) to discovery answering,
// and the idle resident memory of the process, for a fresh data folder (first start: migrations,
// key generation, demo seeding) and for a restart on that folder.
//
// Reproduce: npm run bench:startup   (or ./node_modules/.bin/node bench/startup/run.ts [--runs N])
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, port: { type: 'string', default: '18080' }, help: { type: 'boolean' } },
});
if (values.help) {
  console.log('Usage: node bench/startup/run.ts [--runs N] [--port PORT]\nPrints ready time and idle RSS of gatehouse dev.');
  process.exit(0);
}
const runs = Number(values.runs);
const port = Number(values.port);
const bin = new URL('../../packages/cli/src/bin.ts', import.meta.url).pathname;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function once(dataDir: string): Promise<{ readyMs: number; idleRssMiB: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'dev', '--port', String(port)], {
    env: {
      ...process.env,
      GATEHOUSE_STORAGE__DATA_DIR: dataDir,
      GATEHOUSE_SERVER__PUBLIC_URL: `http://localhost:${port}`,
      GATEHOUSE_LOG__LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/auth/.well-known/openid-configuration`;
  let readyMs = Number.NaN;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gatehouse dev exited with ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) {
        await res.arrayBuffer();
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 60_000) throw new Error('not ready within 60 s');
    await new Promise((r) => setTimeout(r, 25));
  }
  // Idle: let start-up garbage settle, then read the resident set.
  await new Promise((r) => setTimeout(r, 3000));
  const idleRssMiB = rssMiB(child.pid!);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { readyMs, idleRssMiB };
}

const rows: { case: string; readyMs: number; idleRssMiB: number }[] = [];
for (let i = 0; i < runs; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-bench-startup-'));
  try {
    process.stderr.write(`run ${i + 1}/${runs}: first start… `);
    rows.push({ case: 'first start (empty data folder)', ...(await once(dataDir)) });
    process.stderr.write('restart… ');
    rows.push({ case: 'restart (existing data folder)', ...(await once(dataDir)) });
    process.stderr.write('done\n');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`\ngatehouse dev start-up, ${runs} runs each, median (node ${process.version}, ${new Date().toISOString()})\n`);
console.log('| case | ready (s) | idle RSS (MiB) |\n| --- | --- | --- |');
for (const name of [...new Set(rows.map((r) => r.case))]) {
  const sel = rows.filter((r) => r.case === name);
  console.log(
    `| ${name} | ${(median(sel.map((r) => r.readyMs)) / 1000).toFixed(2)} | ${median(sel.map((r) => r.idleRssMiB)).toFixed(0)} |`,
  );
}
console.log('\nTargets: ready < 5 s; < 150 MB resident per component at idle (Keycloak: tens of seconds, 1,250 MB per pod).');
console.log('Reproduce: ./node_modules/.bin/node bench/startup/run.ts --runs 3');
