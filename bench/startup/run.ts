/**
 * bench/startup: time from starting a Gatehouse process to ready, and its idle resident memory
 * (VmRSS after 3 s idle), the median of --runs starts per case.
 *
 *   ./node_modules/.bin/node bench/startup/run.ts [--runs 3] [--port 18080] [--postgres URL]
 *
 * Cases: `gatehouse dev` (what `npm start` runs; everything in one process on embedded PGlite) on
 * an empty data folder and again on that folder; and the production shape, one process per
 * component: `gatehouse idp` on PostgreSQL and `gatehouse gateway` alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs } from '../bench-args.ts';

const values = benchArgs(import.meta.url, {
  runs: { type: 'string', default: '3' },
  port: { type: 'string', default: '18080' },
  postgres: {
    type: 'string',
    default: process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  },
});
const runs = Number(values.runs);
const port = Number(values.port);
const bin = new URL('../../packages/cli/src/bin.ts', import.meta.url).pathname;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

interface Case {
  name: string;
  args: string[];
  env: Record<string, string>;
  readyUrl: string;
  /** Node flags, as the container image sets them (NODE_OPTIONS in deploy/container/Containerfile). */
  nodeFlags?: string[];
}

const IMAGE_FLAGS = ['--max-semi-space-size=4'];

async function measure(c: Case): Promise<{ readyMs: number; idleRssMiB: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [...(c.nodeFlags ?? []), bin, ...c.args], {
    env: { ...process.env, GATEHOUSE_LOG__LEVEL: 'warn', ...c.env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let readyMs = Number.NaN;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${c.name}: exited with ${child.exitCode}`);
    try {
      const res = await fetch(c.readyUrl);
      await res.arrayBuffer();
      if (res.ok) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 60_000) throw new Error(`${c.name}: not ready within 60 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const idleRssMiB = rssMiB(child.pid!);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { readyMs, idleRssMiB };
}

const origin = `http://localhost:${port}`;
const discovery = `http://127.0.0.1:${port}/auth/.well-known/openid-configuration`;
const rows: { case: string; readyMs: number; idleRssMiB: number }[] = [];

for (let i = 0; i < runs; i++) {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-startup-'));
  const schema = `gh_bench_startup_${process.pid}_${i}`;
  try {
    const devEnv = {
      GATEHOUSE_SERVER__PORT: String(port),
      GATEHOUSE_SERVER__PUBLIC_URL: origin,
      GATEHOUSE_STORAGE__DATA_DIR: join(dir, 'data'),
      GATEHOUSE_SSO_APP1_PORT: String(port + 1),
      GATEHOUSE_SSO_APP2_PORT: String(port + 2),
    };
    const cases: Case[] = [
      {
        name: 'gatehouse dev, first start (empty data folder)',
        args: ['dev'],
        env: devEnv,
        readyUrl: discovery,
      },
      {
        name: 'gatehouse dev, restart (existing data folder)',
        args: ['dev'],
        env: devEnv,
        readyUrl: discovery,
      },
      {
        name: 'gatehouse idp alone, PostgreSQL',
        args: ['idp'],
        env: {
          GATEHOUSE_SERVER__PORT: String(port),
          GATEHOUSE_SERVER__PUBLIC_URL: origin,
          GATEHOUSE_STORAGE__DRIVER: 'postgres',
          GATEHOUSE_STORAGE__URL: `${values.postgres!.split('?')[0]}?search_path=${schema}`,
        },
        readyUrl: `http://127.0.0.1:${port}/health/ready`,
      },
      {
        name: 'gatehouse gateway alone',
        args: ['gateway', '--config', join(dir, 'gateway.yaml')],
        env: { GATEHOUSE_SERVER__PORT: String(port), GATEHOUSE_SERVER__PUBLIC_URL: origin },
        readyUrl: `http://127.0.0.1:${port}/_gatehouse/health/ready`,
      },
      {
        name: 'gatehouse idp alone, PostgreSQL, image flags',
        nodeFlags: IMAGE_FLAGS,
        args: ['idp'],
        env: {
          GATEHOUSE_SERVER__PORT: String(port),
          GATEHOUSE_SERVER__PUBLIC_URL: origin,
          GATEHOUSE_STORAGE__DRIVER: 'postgres',
          GATEHOUSE_STORAGE__URL: `${values.postgres!.split('?')[0]}?search_path=${schema}`,
        },
        readyUrl: `http://127.0.0.1:${port}/health/ready`,
      },
      {
        name: 'gatehouse gateway alone, image flags',
        nodeFlags: IMAGE_FLAGS,
        args: ['gateway', '--config', join(dir, 'gateway.yaml')],
        env: { GATEHOUSE_SERVER__PORT: String(port), GATEHOUSE_SERVER__PUBLIC_URL: origin },
        readyUrl: `http://127.0.0.1:${port}/_gatehouse/health/ready`,
      },
    ];
    writeFileSync(
      join(dir, 'gateway.yaml'),
      `gateway:\n  routes:\n    - id: echo\n      match: { path: /echo }\n      upstreams: [http://127.0.0.1:9]\n      policy: authenticated\n`,
    );
    await createSchema(schema);
    for (const c of cases) {
      process.stderr.write(`run ${i + 1}/${runs}: ${c.name}…\n`);
      rows.push({ case: c.name, ...(await measure(c)) });
    }
  } finally {
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function createSchema(schema: string): Promise<void> {
  const { openSql } = await import('@gatehouse/core');
  const sql = await openSql({ driver: 'postgres', url: values.postgres! });
  await sql.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await sql.close();
}

async function dropSchema(schema: string): Promise<void> {
  const { openSql } = await import('@gatehouse/core');
  const sql = await openSql({ driver: 'postgres', url: values.postgres! });
  await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await sql.close();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `\nStart-up, ${runs} runs per case, median (node ${process.version}, ${new Date().toISOString()})\n`,
);
console.log('| case | ready (s) | idle RSS (MiB) |\n| --- | --- | --- |');
for (const name of [...new Set(rows.map((r) => r.case))]) {
  const sel = rows.filter((r) => r.case === name);
  console.log(
    `| ${name} | ${(median(sel.map((r) => r.readyMs)) / 1000).toFixed(2)} | ${median(sel.map((r) => r.idleRssMiB)).toFixed(0)} |`,
  );
}
console.log(`\n"image flags": ${IMAGE_FLAGS.join(' ')}, the NODE_OPTIONS of deploy/container/Containerfile.`);
console.log(
  '\nTargets: ready < 5 s; < 150 MB resident per component at idle (Keycloak: tens of seconds, 1,250 MB per pod).',
);
console.log('Reproduce: ./node_modules/.bin/node bench/startup/run.ts --runs 3');
