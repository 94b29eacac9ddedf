/**
 * This tree's identity provider against another checkout's, in ABBA pairs in one run: client
 * credentials, refresh and password login, each figure the requests (logins) per idp CPU-second that
 * `run.ts` and `login.ts` print, each pair's ratio this ÷ baseline, and their geometric mean.
 *
 *   ./node_modules/.bin/node bench/idp/compare.ts --baseline-tree DIR [--pairs 4] [--duration 5] [--warmup 5]
 *                                                 [--scenarios client-credentials,refresh,login]
 *
 * --baseline-tree  another checkout of the whole repository with its node_modules (for example
 *                  `git worktree add --detach /tmp/base <commit>` and `cp -al node_modules /tmp/base/`);
 *                  each tree runs its own bench script, so each measures its own idp
 * --pairs          ABBA pairs per scenario (default 4): this, base, base, this, this, base, …
 *
 * The machine's noise moves a tree's figure by tens of per cent between windows; adjacent windows
 * share it, so the ratios of pairs say more than any single figure. The load average is printed with
 * each window.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { benchArgs } from '../bench-args.ts';

const args = benchArgs(import.meta.url, {
  'baseline-tree': { type: 'string' },
  pairs: { type: 'string', default: '4' },
  duration: { type: 'string', default: '5' },
  warmup: { type: 'string', default: '5' },
  scenarios: { type: 'string', default: 'client-credentials,refresh,login' },
});
if (!args['baseline-tree']) {
  process.stderr.write('--baseline-tree DIR is required\nRun with --help for the options.\n');
  process.exit(2);
}
const trees = { this: resolve('.'), base: resolve(args['baseline-tree']) };
const pairs = Number(args.pairs);
const scenarios = args.scenarios.split(',');
for (const s of scenarios) {
  if (!['client-credentials', 'refresh', 'login'].includes(s)) {
    process.stderr.write(`unknown scenario '${s}'\nRun with --help for the options.\n`);
    process.exit(2);
  }
}

/** One window of one tree: its own bench script, its figure per idp CPU-second. */
async function window(tree: string, scenario: string): Promise<number> {
  const timing = ['--duration', args.duration, '--warmup', args.warmup];
  const script =
    scenario === 'login'
      ? ['bench/idp/login.ts', ...timing]
      : ['bench/idp/run.ts', '--scenario', scenario, ...timing];
  const child = spawn(`${tree}/node_modules/.bin/node`, script, {
    cwd: tree,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`${script.join(' ')} in ${tree} exited ${code}:\n${err.slice(-2000)}`);
  if (scenario === 'login') {
    // The second table's sixth column: logins per idp CPU-second.
    const row = out
      .split('\n')
      .find((l) => /^\| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [-\d.]+ \| [\d.]+ \|/.test(l));
    const figure = row?.split('|')[6];
    if (!figure) throw new Error(`no per-core figure in login.ts's output:\n${out.slice(-2000)}`);
    return Number(figure.trim());
  }
  const m = /per core: (\d+) requests per idp CPU-second/.exec(out);
  if (!m) throw new Error(`no per-core figure in run.ts's output:\n${out.slice(-2000)}`);
  return Number(m[1]);
}

console.log(
  `# ./node_modules/.bin/node bench/idp/compare.ts --baseline-tree ${args['baseline-tree']} --pairs ${pairs} --duration ${args.duration} --warmup ${args.warmup} --scenarios ${scenarios.join(',')}`,
);
console.log(`# this: ${trees.this}\n# base: ${trees.base}`);
console.log('');
console.log('| scenario | pair | this /s per core | base /s per core | this ÷ base | load average |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
const summary: string[] = [];
for (const scenario of scenarios) {
  const ratios: number[] = [];
  for (let p = 0; p < pairs; p++) {
    // ABBA: every other pair runs the baseline first, so a trend in the machine's load weighs on both.
    const order = p % 2 === 0 ? (['this', 'base'] as const) : (['base', 'this'] as const);
    const figures: Record<string, number> = {};
    for (const which of order) figures[which] = await window(trees[which], scenario);
    const ratio = figures['this']! / figures['base']!;
    ratios.push(ratio);
    console.log(
      `| ${scenario} | ${p + 1} | ${figures['this']!.toFixed(1)} | ${figures['base']!.toFixed(1)} | ${ratio.toFixed(2)} | ${loadavg()[0]!.toFixed(1)} |`,
    );
  }
  const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  summary.push(
    `${scenario}: geometric mean of this ÷ base ${geo.toFixed(2)} (pairs ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
  );
}
console.log('');
for (const line of summary) console.log(line);
