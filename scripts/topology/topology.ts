import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openSql } from '@gatehouse/core';
import { stringify } from 'yaml';
import { loadRoutesFile } from '../../examples/shared/src/routes-file.ts';
import { probe, waitHealthy } from './health.ts';
import { nginxConfig } from './nginx-config.ts';
import { alive, type ProcessSpec, readPid, startProcess, stopProcess } from './processes.ts';

const run = promisify(execFile);

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'packages/cli/src/bin.ts');
const SHOP = join(ROOT, 'examples/shop/src/serve.ts');
const SHOP_ROUTES = new URL('../../examples/shop/routes.yaml', import.meta.url);

/** Where the machine's PostgreSQL and Redis are; the topology makes its own database and key prefix. */
export const POSTGRES_ADMIN_URL =
  process.env['GATEHOUSE_TOPOLOGY_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env['GATEHOUSE_TOPOLOGY_REDIS'] ?? 'redis://127.0.0.1:6379';

export function defaultDir(): string {
  return process.env['GATEHOUSE_TOPOLOGY_DIR'] ?? join(tmpdir(), 'gatehouse-topology');
}

/** Everything `up` decided, written to <dir>/topology.json for status, down and the fault runs. */
export interface TopologyState {
  dir: string;
  database: string;
  databaseUrl: string;
  redisPrefix: string;
  publicUrl: string;
  idpUrl: string;
  ca: string;
  admin: { username: string; password: string };
  /** A public client for the code flow with refresh tokens (the fault runs' driver uses it). */
  appClient: { clientId: string; redirectUri: string };
  processes: ProcessSpec[];
}

export interface UpOptions {
  dir?: string;
  replicas?: number;
  /** Lines of progress. */
  note?: (line: string) => void;
  /** on SIGTERM: readiness fails this long before the listener closes (default 1000 ms). */
  drainDelayMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function gatehouse(state: Pick<TopologyState, 'dir'>, env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout } = await run(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `gatehouse ${args.join(' ')} failed in ${state.dir}: ${e.stderr || e.stdout || e.message}`,
    );
  }
}

export function loadState(dir = defaultDir()): TopologyState | undefined {
  const file = join(dir, 'topology.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TopologyState) : undefined;
}

function unprivileged(): { uid: number; gid: number } | undefined {
  // nginx is started as `nobody` when this runs as root: a load balancer needs no privileges here.
  return userInfo().uid === 0 ? { uid: 65534, gid: 65534 } : undefined;
}

/**
 * Bring the production shape up on loopback: its own PostgreSQL database and Redis key prefix,
 * certificates, the config file, migrations, the first admin and clients through the CLI's
 * bootstrap verbs, then every process, each waited for until healthy.
 */
export async function up(options: UpOptions = {}): Promise<TopologyState> {
  const dir = options.dir ?? defaultDir();
  const note = options.note ?? (() => {});
  if (loadState(dir)) throw new Error(`a topology is already up in ${dir}: run 'down' first`);
  const replicas = options.replicas ?? 2;
  for (const d of ['logs', 'pids', 'certs', 'nginx/tmp']) mkdirSync(join(dir, d), { recursive: true });
  const id = `gh_topo_${randomBytes(4).toString('hex')}`;
  const secret = () => randomBytes(32).toString('base64url');
  const ports = async (n: number) => Promise.all(Array.from({ length: n }, freePort));
  const [lbPort, idpLbPort] = (await ports(2)) as [number, number];
  const idpPorts = await ports(replicas);
  const gatewayPorts = await ports(replicas);
  const authzPorts = await ports(replicas);
  const productsPorts = await ports(replicas);
  const ordersPorts = await ports(replicas);
  const publicUrl = `https://localhost:${lbPort}`;
  const idpUrl = `http://127.0.0.1:${idpLbPort}`;
  const databaseUrl = POSTGRES_ADMIN_URL.replace(/\/[^/?]*(\?.*)?$/, `/${id}`);
  const state: TopologyState = {
    dir,
    database: id,
    databaseUrl,
    redisPrefix: `${id}:`,
    publicUrl,
    idpUrl,
    ca: join(dir, 'certs/ca.crt'),
    admin: { username: 'admin', password: secret() },
    appClient: { clientId: 'topology-app', redirectUri: `${publicUrl}/callback` },
    processes: [],
  };
  // Written first, so that `down` can clean up after an `up` that failed half-way.
  const save = () => writeFileSync(join(dir, 'topology.json'), `${JSON.stringify(state, null, 2)}\n`);
  save();

  note(`database ${id} on ${POSTGRES_ADMIN_URL.replace(/\/\/[^@]*@/, '//')}`);
  const admin = await openSql({ driver: 'postgres', url: POSTGRES_ADMIN_URL });
  try {
    await admin.query(`create database "${id}"`);
  } finally {
    await admin.close();
  }

  // The gateways' key to the identity providers' revocation feed: one value on both sides.
  const feedToken = secret();
  const secrets = {
    GATEHOUSE_STORAGE__URL: databaseUrl,
    GATEHOUSE_STATE__URL: REDIS_URL,
    GATEHOUSE_IDP__KEY_ENCRYPTION_SECRET: secret(),
    GATEHOUSE_IDP__REVOCATION_FEED_TOKEN: feedToken,
    GATEHOUSE_GATEWAY__AUTH__REVOCATION_FEED__TOKEN: feedToken,
  };
  writeFileSync(
    join(dir, 'secrets.env'),
    `${Object.entries(secrets)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );

  note('certificates: gatehouse certs init / issue localhost');
  const certs = join(dir, 'certs');
  await gatehouse(state, {}, 'certs', 'init', '--dir', certs);
  await gatehouse(
    state,
    {},
    'certs',
    'issue',
    '--dir',
    certs,
    '--name',
    'localhost',
    '--dns',
    'localhost',
    '--ip',
    '127.0.0.1',
    '--server',
    '--client',
  );

  const drainDelayMs = options.drainDelayMs ?? 1000;
  const upstreams = (list: number[]) => list.map((p) => `http://127.0.0.1:${p}`);
  const idpRoute = (routeId: string, path: string) => ({
    id: routeId,
    match: { path },
    upstreams: upstreams(idpPorts),
    policy: 'public',
    forwardToken: true,
    // Longer than the 2 s the readiness endpoint may spend on a dependency that does not answer
    // (Redis down): a shorter probe would take a degraded but serving idp out of rotation.
    healthCheck: { path: '/health/ready', intervalMs: 1000, timeoutMs: 3000, unhealthyThreshold: 1 },
  });
  const shopRoutes = await loadRoutesFile(SHOP_ROUTES, {
    services: { products: upstreams(productsPorts), orders: upstreams(ordersPorts) },
    limits: false,
  });
  const config = {
    mode: 'production',
    server: { host: '127.0.0.1', publicUrl, drainDelayMs, shutdownTimeoutMs: 5000 },
    storage: { driver: 'postgres' },
    state: { driver: 'redis', keyPrefix: state.redisPrefix },
    log: { level: 'info' },
    idp: {
      resources: ['urn:gatehouse:orders'],
      // Every virtual user of the fault runs registers from the one loopback address.
      accounts: { registrationsPerHour: 100000 },
    },
    gateway: {
      trustedProxies: ['127.0.0.1/32'],
      tls: { certFile: join(certs, 'localhost.crt'), keyFile: join(certs, 'localhost.key') },
      auth: {
        jwksUri: `${idpUrl}/auth/jwks`,
        revocationFeed: { url: `${idpUrl}/_gatehouse/revocations` },
      },
      routes: [idpRoute('idp', '/auth'), idpRoute('authentication', '/authentication'), ...shopRoutes],
      // The shop's back office is a permission rule: the engine runs in each gateway on the shared
      // database, the way the authz processes read it.
      authz: {},
    },
    authz: { auth: { jwksUri: `${idpUrl}/auth/jwks` } },
  };
  const configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(
    configFile,
    `# Written by scripts/topology.ts; secrets are in secrets.env.\n${stringify(config)}`,
  );

  note('gatehouse config / migrate');
  await gatehouse(state, secrets, 'config', '--config', configFile);
  await gatehouse(state, secrets, 'migrate', '--config', configFile);

  note('bootstrap: gatehouse admin create-user / create-client');
  const passwordFile = join(dir, 'admin-password');
  writeFileSync(passwordFile, `${state.admin.password}\n`, { mode: 0o600 });
  await gatehouse(
    state,
    secrets,
    'admin',
    'create-user',
    '--config',
    configFile,
    '--username',
    'admin',
    '--role',
    'admin',
    '--password-file',
    passwordFile,
  );
  const products = JSON.parse(
    await gatehouse(
      state,
      secrets,
      'admin',
      'create-client',
      '--config',
      configFile,
      '--client-id',
      'shop-products',
      '--grant',
      'client_credentials',
      '--role',
      'service',
      '--first-party',
      '--scope',
      '',
      '--resource',
      'urn:gatehouse:orders=orders:add',
      '--json',
    ),
  ) as { clientSecret?: string; client_secret?: string };
  const productsSecret = products.clientSecret ?? products.client_secret;
  if (!productsSecret) throw new Error('gatehouse admin create-client printed no secret');
  await gatehouse(
    state,
    secrets,
    'admin',
    'create-client',
    '--config',
    configFile,
    '--client-id',
    state.appClient.clientId,
    '--public',
    '--first-party',
    '--grant',
    'authorization_code',
    '--grant',
    'refresh_token',
    '--redirect-uri',
    state.appClient.redirectUri,
    '--scope',
    'openid offline_access',
    '--json',
  );

  const node = process.execPath;
  const common = { ...secrets, NODE_EXTRA_CA_CERTS: state.ca };
  const verb = (kind: string, i: number, port: number, health: string, args: string[] = []): ProcessSpec => ({
    name: `${kind}-${i + 1}`,
    kind,
    command: node,
    args: [
      CLI,
      ...(kind === 'authz' ? ['authz', 'serve'] : [kind]),
      '--config',
      configFile,
      '--port',
      String(port),
      ...args,
    ],
    env: common,
    port,
    health,
  });
  const shop = (kind: 'products' | 'orders', i: number, port: number): ProcessSpec => ({
    name: `${kind}-${i + 1}`,
    kind,
    command: node,
    args: [SHOP, kind, '--port', String(port), '--name', `shop-${kind}-${i + 1}`],
    env: {
      NODE_EXTRA_CA_CERTS: state.ca,
      SHOP_DATABASE_URL: databaseUrl,
      SHOP_PUBLIC_URL: publicUrl,
      SHOP_JWKS_URI: `${idpUrl}/auth/jwks`,
      SHOP_TOKEN_ENDPOINT: `${idpUrl}/auth/token`,
      SHOP_ORDERS_URLS: upstreams(ordersPorts).join(','),
      SHOP_PRODUCTS_CLIENT_SECRET: productsSecret,
      SHOP_DRAIN_DELAY_MS: String(drainDelayMs),
    },
    port,
    health: `http://127.0.0.1:${port}/health`,
  });
  const nginxDir = join(dir, 'nginx');
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    mkdirSync(join(nginxDir, 'tmp', d), { recursive: true });
  copyFileSync(join(certs, 'localhost.crt'), join(nginxDir, 'tls.crt'));
  copyFileSync(join(certs, 'localhost.key'), join(nginxDir, 'tls.key'));
  copyFileSync(state.ca, join(nginxDir, 'ca.crt'));
  writeFileSync(
    join(nginxDir, 'nginx.conf'),
    nginxConfig({
      dir: nginxDir,
      logs: join(dir, 'logs'),
      publicPort: lbPort,
      idpPort: idpLbPort,
      gateways: gatewayPorts,
      idps: idpPorts,
    }),
  );
  const nobody = unprivileged();
  if (nobody) {
    // nginx must reach its own folder and the logs folder; nothing else of the topology's folder
    // (secrets.env and the certificate keys stay 0600 / 0700).
    chmodSync(dir, 0o711);
    chmodSync(join(dir, 'logs'), 0o711);
    for (const f of ['', 'tmp', 'tls.crt', 'tls.key', 'ca.crt', 'nginx.conf'])
      chownSync(join(nginxDir, f), nobody.uid, nobody.gid);
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      chownSync(join(nginxDir, 'tmp', d), nobody.uid, nobody.gid);
    for (const f of ['nginx.log', 'nginx-access.log']) {
      writeFileSync(join(dir, 'logs', f), '');
      chownSync(join(dir, 'logs', f), nobody.uid, nobody.gid);
    }
  }

  const nginx: ProcessSpec = {
    name: 'nginx',
    kind: 'nginx',
    command: 'nginx',
    args: ['-p', nginxDir, '-c', join(nginxDir, 'nginx.conf'), '-g', 'daemon off;'],
    env: {},
    port: lbPort,
    health: `${publicUrl}/_gatehouse/health/ready`,
    ...(nobody ?? {}),
  };
  // The load balancer starts with the gateways: they read keys and the revocation feed through its
  // internal listener, and it answers for them once they are up.
  const groups: ProcessSpec[][] = [
    idpPorts.map((p, i) => verb('idp', i, p, `http://127.0.0.1:${p}/health/ready`)),
    [
      ...authzPorts.map((p, i) => verb('authz', i, p, `http://127.0.0.1:${p}/health/ready`)),
      ...ordersPorts.map((p, i) => shop('orders', i, p)),
      // The first products replica creates the back office's permission store; the others find it.
      shop('products', 0, productsPorts[0]!),
    ],
    [
      nginx,
      ...productsPorts.slice(1).map((p, i) => shop('products', i + 1, p)),
      ...gatewayPorts.map((p, i) => verb('gateway', i, p, `https://127.0.0.1:${p}/_gatehouse/health/ready`)),
    ],
  ];
  for (const group of groups) {
    state.processes.push(...group);
    save();
    for (const spec of group) startProcess(dir, spec);
    note(`starting ${group.map((s) => s.name).join(', ')}`);
    await Promise.all(group.map((spec) => waitReady(state, spec, 60_000)));
  }
  note(`up: ${publicUrl} (admin password in ${passwordFile})`);
  return state;
}

/** Wait until a process answers its readiness probe; fail early, with its log's tail, if it exited. */
export async function waitReady(state: TopologyState, spec: ProcessSpec, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = readPid(state.dir, spec.name);
    if (pid === undefined || !alive(pid)) {
      throw new Error(`${spec.name} exited; its log ends with:\n${tail(state, spec.name)}`);
    }
    try {
      await waitHealthy(spec.health, readFileSync(state.ca, 'utf8'), Math.min(1000, deadline - Date.now()));
      return;
    } catch {}
  }
  throw new Error(
    `${spec.name} not ready after ${timeoutMs} ms; its log ends with:\n${tail(state, spec.name)}`,
  );
}

function tail(state: TopologyState, name: string): string {
  const file = join(state.dir, 'logs', `${name}.log`);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '(no log)';
}

export function spec(state: TopologyState, name: string): ProcessSpec {
  const found = state.processes.find((p) => p.name === name);
  if (!found) throw new Error(`no process ${name} in the topology`);
  return found;
}

/** Stop one process (SIGTERM waits for it to drain, SIGKILL does not). */
export function stop(state: TopologyState, name: string, signal: NodeJS.Signals): Promise<void> {
  return stopProcess(state.dir, name, signal);
}

/** Start one process again with its recorded command line and wait until it is ready. */
export async function start(state: TopologyState, name: string, timeoutMs = 60_000): Promise<void> {
  const s = spec(state, name);
  startProcess(state.dir, s);
  await waitReady(state, s, timeoutMs);
}

export interface StatusLine {
  name: string;
  pid: number | undefined;
  running: boolean;
  health: number | undefined;
  detail: string;
  ms: number;
  url: string;
}

export async function status(state: TopologyState): Promise<StatusLine[]> {
  const ca = readFileSync(state.ca, 'utf8');
  return Promise.all(
    state.processes.map(async (p) => {
      const pid = readPid(state.dir, p.name);
      const running = pid !== undefined && alive(pid);
      const answer = running
        ? await probe(p.health, ca)
        : { status: undefined, detail: 'not running', ms: 0 };
      return {
        name: p.name,
        pid,
        running,
        health: answer.status,
        detail: answer.detail,
        ms: answer.ms,
        url: p.health,
      };
    }),
  );
}

/** `down` for a run that started the topology itself: the processes' logs are kept beside the folder
 * (down removes it), for reading what failed. */
export async function downKeepingLogs(dir: string, note: (line: string) => void): Promise<void> {
  if (existsSync(join(dir, 'logs'))) {
    cpSync(join(dir, 'logs'), `${dir}.logs`, { recursive: true });
    note(`logs kept in ${dir}.logs`);
  }
  await down(dir, note).catch((err: Error) => note(`down failed: ${err.message}`));
}

/** The ids of the shop's stored orders: what a fault run counts lost orders against. */
export async function storedOrderIds(state: TopologyState): Promise<Set<number>> {
  const sql = await openSql({ driver: 'postgres', url: state.databaseUrl });
  try {
    const rows = await sql.query<{ id: string | number }>('select id from shop_orders.orders');
    return new Set(rows.map((r) => Number(r.id)));
  } finally {
    await sql.close();
  }
}

/**
 * Stop everything (load balancer first, identity providers last), drop the database and the Redis
 * keys under the topology's prefix, and remove the folder. Safe after a failed or partial `up`.
 */
export async function down(dir = defaultDir(), note: (line: string) => void = () => {}): Promise<void> {
  const state = loadState(dir);
  if (!state) {
    note(`nothing up in ${dir}`);
    return;
  }
  const order = ['nginx', 'gateway', 'products', 'orders', 'authz', 'idp'];
  for (const kind of order) {
    const names = state.processes.filter((p) => p.kind === kind).map((p) => p.name);
    await Promise.all(names.map((n) => stopProcess(dir, n, 'SIGTERM')));
    if (names.length > 0) note(`stopped ${names.join(', ')}`);
  }
  const admin = await openSql({ driver: 'postgres', url: POSTGRES_ADMIN_URL });
  try {
    await admin.query(`drop database if exists "${state.database}" with (force)`);
    note(`dropped database ${state.database}`);
  } finally {
    await admin.close();
  }
  await deleteRedisKeys(state.redisPrefix);
  note(`deleted Redis keys ${state.redisPrefix}*`);
  rmSync(dir, { recursive: true, force: true });
  note(`removed ${dir}`);
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const { stdout } = await run('redis-cli', ['-u', REDIS_URL, '--scan', '--pattern', `${prefix}*`]);
  const keys = stdout.split('\n').filter((k) => k !== '');
  for (let i = 0; i < keys.length; i += 500) {
    await run('redis-cli', ['-u', REDIS_URL, 'del', ...keys.slice(i, i + 500)]);
  }
}
