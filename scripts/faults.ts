import { parseArgs } from 'node:util';
import { type RunResult, resultTable, runFault, runs } from './faults/runs.ts';
import { defaultDir, downKeepingLogs, loadState, up } from './topology/topology.ts';

const usage = `usage: node scripts/faults.ts ${runs.map((r) => r.name).join('|')}|all [--seconds N] [--users N] [--dir DIR]

${runs.map((r) => `  ${r.name.padEnd(10)} ${r.title}`).join('\n')}

Uses the topology up in --dir (default $GATEHOUSE_TOPOLOGY_DIR, else <tmp>/gatehouse-topology); when
none is up there, brings one up first and takes it down at the end (the processes' logs are kept
in <dir>.logs). The postgres run restarts this machine's PostgreSQL, the redis run the Redis of
$GATEHOUSE_TOPOLOGY_REDIS (default this machine's, port 6379): everything else using them sees the
outage too.

  --seconds N   length of each run (default 120)
  --users N     virtual users (default 20)
  -h, --help    this help

Exit 1 when a run lost an order, a session, a refresh token or a revocation.`;

const options = {
  seconds: { type: 'string' },
  users: { type: 'string' },
  dir: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
try {
  parsed = parseArgs({ options, allowPositionals: true });
} catch (err) {
  console.error(`faults: ${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const which = positionals[0];
const selected = which === 'all' ? runs : runs.filter((r) => r.name === which);
if (positionals.length !== 1 || selected.length === 0) {
  console.error(`faults: name a run or 'all'\n${usage}`);
  process.exit(2);
}
const seconds = Number(values.seconds ?? 120);
const users = Number(values.users ?? 20);
if (
  !Number.isFinite(seconds) ||
  seconds < 3 ||
  seconds > 3600 ||
  !Number.isInteger(users) ||
  users < 1 ||
  users > 1000
) {
  console.error('faults: --seconds must be 3 to 3600 and --users a whole number from 1 to 1000');
  process.exit(2);
}
const dir = values.dir ?? defaultDir();
const note = (line: string) => console.error(`faults: ${line}`);

let state = loadState(dir);
const owned = state === undefined;
const results: RunResult[] = [];
try {
  state ??= await up({ dir, note });
  for (const fault of selected) {
    note(`run ${fault.name}: ${fault.title} (${seconds} s, ${users} users)`);
    const result = await runFault(state, fault, { seconds, users, note });
    results.push(result);
    console.log(`\n${resultTable([result])}\n\nfailures: ${result.failures.join('; ') || 'none'}\n`);
    if (result.healthy)
      console.log(
        `healthy path (a user of its own, once the health checks moved traffic): ${result.healthy.requests} requests, ${result.healthy.failed} failed, p99 ${result.healthy.p99} ms against ${result.healthy.p99Before} ms fault-free\n`,
      );
  }
} finally {
  if (owned) {
    await downKeepingLogs(dir, note);
  }
}
if (results.length > 1) console.log(`\n${resultTable(results)}\n`);
const lost = results.some(
  (r) => r.ordersLost > 0 || r.sessionsLost > 0 || r.refreshLost > 0 || r.revocationsLost > 0,
);
process.exit(lost ? 1 : 0);
