// `npm test`: type-check, lint, then every test file with node's test runner.
// Each step prints what it runs; the first failing step fails the run.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The tools from this checkout's node_modules, so that `node scripts/test.ts` works outside npm too
// (npm puts node_modules/.bin on PATH; a bare `tsc` run directly was not found and failed silently).
const bin = (name: string) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`Usage: npm test [-- --only-tests] [-- <test files...>]

Runs, in order: tsc --noEmit, biome check, the architecture's walls (scripts/walls.ts), node --test on every packages/*/test/*.test.ts,
test/**/*.test.ts and examples/**/test/*.test.ts, then test/topology-faults.test.ts alone (it restarts
PostgreSQL and Redis), then test/topology-upstreams.test.ts alone (eleven processes under load). Suites that need PostgreSQL (127.0.0.1:5432,
database test) or Redis (127.0.0.1:6379) skip with a printed reason when those do not answer,
except under CI=true, where they fail.

  --only-tests   skip type-check, lint and walls
  <files>        run only these test files`);
  process.exit(0);
}

const onlyTests = args.includes('--only-tests');
const files = args.filter((a) => !a.startsWith('--'));

function step(title: string, cmd: string, cmdArgs: string[]): void {
  console.log(`\n== ${title}: ${cmd} ${cmdArgs.join(' ')}`);
  const started = Date.now();
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.error) {
    console.error(`\n== ${title} could not start ${cmd}: ${r.error.message} (run npm install first)`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`\n== ${title} failed after ${secs} s (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  console.log(`== ${title} passed in ${secs} s`);
}

if (!onlyTests && files.length === 0) {
  step('type-check', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']);
  step('lint', bin('biome'), ['check', '.']);
  // The architecture's walls on the import graph tsc resolves (scripts/walls.ts).
  step('walls', process.execPath, [fileURLToPath(new URL('./walls.ts', import.meta.url))]);
}

// The fault runs restart this machine's PostgreSQL and Redis, and the upstream run loads the machine
// with a whole topology: each runs alone, after everything else, so that no other test sees them.
const ALONE = ['test/topology-faults.test.ts', 'test/topology-upstreams.test.ts'];
const testFiles =
  files.length > 0
    ? files
    : globSync(['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'])
        .filter((f) => !ALONE.includes(f))
        .sort();
step('tests', process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=180000', ...testFiles]);
if (files.length === 0) {
  for (const file of ALONE)
    step(`alone: ${file}`, process.execPath, ['--test', '--test-timeout=420000', file]);
}
