/**
 * The production shape on loopback, as separate processes: 2 identity providers, 2 gateways, 2 authz,
 * 2 replicas of each shop service, nginx in front of the gateways, on this machine's PostgreSQL (a
 * database of its own) and Redis (a key prefix of its own). See docs/deployment.md.
 *
 *   ./node_modules/.bin/node scripts/topology.ts up|down|status [--dir DIR] [--replicas N]
 */
import { parseArgs } from 'node:util';
import { defaultDir, down, loadState, status, up } from './topology/topology.ts';

const usage = `usage: node scripts/topology.ts up|down|status [--dir DIR] [--replicas N]

up       create a database and Redis key prefix of its own, certificates (gatehouse certs), a
         production config with generated secrets, migrate, create the first admin and clients
         (gatehouse admin create-user / create-client), then start every process and wait until
         each is ready. Prints the public URL.
status   each process: pid, readiness answer, time to answer. Exit 1 if one is not ready.
down     stop every process (SIGTERM, then SIGKILL after 8 s), drop the database, delete the Redis
         keys, remove the folder.

  --dir DIR       the topology's folder (default $GATEHOUSE_TOPOLOGY_DIR, else <tmp>/gatehouse-topology):
                  topology.json, gatehouse.yaml, secrets.env, certs/, logs/<process>.log, pids/, nginx/
  --replicas N    replicas of each component (default 2)
  -h, --help      this help

PostgreSQL: $GATEHOUSE_TOPOLOGY_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres), a
role that may create databases. Redis: $GATEHOUSE_TOPOLOGY_REDIS (default redis://127.0.0.1:6379).`;

let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
const options = {
  dir: { type: 'string' },
  replicas: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
try {
  parsed = parseArgs({ options, allowPositionals: true });
} catch (err) {
  console.error(`topology: ${(err as Error).message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const action = positionals[0];
if (positionals.length !== 1 || !['up', 'down', 'status'].includes(action ?? '')) {
  console.error(`topology: say up, down or status\n${usage}`);
  process.exit(2);
}
const replicas = values.replicas === undefined ? 2 : Number(values.replicas);
if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
  console.error('topology: --replicas must be a whole number from 1 to 5');
  process.exit(2);
}
const dir = values.dir ?? defaultDir();
const note = (line: string) => console.log(`topology: ${line}`);

if (action === 'up') {
  try {
    await up({ dir, replicas, note });
  } catch (err) {
    console.error(
      `topology: up failed: ${(err as Error).message}\nrun 'node scripts/topology.ts down${values.dir ? ` --dir ${dir}` : ''}' to clean up`,
    );
    process.exit(1);
  }
} else if (action === 'down') {
  await down(dir, note);
} else {
  const state = loadState(dir);
  if (!state) {
    console.log(`topology: nothing up in ${dir}`);
    process.exit(1);
  }
  const lines = await status(state);
  console.log(
    `public URL ${state.publicUrl}, database ${state.database}, Redis prefix ${state.redisPrefix}\n`,
  );
  console.log('| process | pid | ready | answer | ms | probe |\n| --- | --- | --- | --- | --- | --- |');
  for (const l of lines) {
    console.log(
      `| ${l.name} | ${l.pid ?? '-'} | ${l.health ?? '-'} | ${l.detail} | ${l.running ? l.ms : '-'} | ${l.url} |`,
    );
  }
  process.exit(lines.every((l) => l.health === 200) ? 0 : 1);
}
