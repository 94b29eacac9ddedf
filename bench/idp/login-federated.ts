/**
 * Sign-ins that Gatehouse does not check itself, against a local password login on the same
 * identity-provider process (one event loop), PostgreSQL storage:
 *
 *   ./node_modules/.bin/node bench/idp/login-federated.ts --via upstream [--duration 5] [--connections 4] [--warmup 3] [--rounds 2]
 *   ./node_modules/.bin/node bench/idp/login-federated.ts --via ldap     [--duration 5] [--connections 4] [--warmup 3] [--rounds 2]
 *   … [--cpu-prof-dir DIR]   (a V8 CPU profile of the idp per measured window: DIR/<round>-<kind>.cpuprofile)
 *   … --via upstream --upstream-claims userinfo   (Example Corp's ID token with only sub: the broker asks userinfo)
 *
 * - upstream: the code flow at Gatehouse, the person pressing "Sign in with Example Corp", signing in
 *   there, and the broker's callback (state, code exchange with client_secret_basic and PKCE, the
 *   ID token's signature through the upstream's JWKS, the linked identity) back to the
 *   client's code and tokens. The upstream is the dev stack's demo provider (oidc-provider) in its
 *   own process, so its CPU is not the idp's; it is shown apart. Its ID token carries the person's
 *   claims, as Google's, Entra ID's and Keycloak's do, so the broker asks no userinfo; with
 *   `--upstream-claims userinfo` it carries only `sub` (oidc-provider's default) and the broker asks.
 * - ldap: the same flow with a directory user's name and password (service-account search, then a
 *   bind as the user) against a real OpenLDAP `slapd` (Debian's package) started here; slapd's CPU
 *   per login is shown apart.
 *
 * Each round measures a window of password logins (alice, argon2id on libuv's pool with
 * UV_THREADPOOL_SIZE=1) and a window of the other kind, alternately, on the same process. From
 * /proc: the idp process's CPU (all threads) per login, its `libuv-worker` thread's (the hash), and
 * the other party's. The broker's own CPU is the brokered login's idp CPU minus a password login's
 * idp CPU without the hash (the flow both share); the target is at most 2 ms. A directory login
 * must cost Gatehouse less CPU than a local password login (the hash is the directory's).
 *
 * Needs Linux, PostgreSQL at GATEHOUSE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test,
 * a fresh schema dropped at the end) and, for ldap, slapd and ldap-utils (apt-get install -y slapd
 * ldap-utils). Bounded: --warmup seconds of each kind first, then --rounds × 2 windows of --duration s.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findForms } from '@gatehouse/cli';
import { loadConfig, migrate, openSql, openState, silentLogger } from '@gatehouse/core';
import { openTestSql } from '@gatehouse/core/testing';
import {
  createIdp,
  type IdpConfig,
  idpConfigSchema,
  idpMigrations,
  seedDevelopmentFixtures,
  startDemoUpstream,
} from '@gatehouse/idp';
import { calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client';
import { request } from 'undici';
import { benchArgs } from '../bench-args.ts';
import { childReady } from '../child-ready.ts';
import { processCpuSeconds, threadCpuSeconds } from '../process-cpu.ts';

const args = benchArgs(import.meta.url, {
  via: { type: 'string' },
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '4' },
  warmup: { type: 'string', default: '3' },
  rounds: { type: 'string', default: '2' },
  serve: { type: 'string' },
  config: { type: 'string' },
  'upstream-serve': { type: 'boolean', default: false },
  'cpu-prof-dir': { type: 'string' },
  'upstream-claims': { type: 'string', default: 'id-token' },
});
const via = args.via;
if (!args.serve && !args['upstream-serve'] && via !== 'upstream' && via !== 'ldap') {
  console.error('--via is upstream or ldap');
  process.exit(2);
}
if (args['upstream-claims'] !== 'id-token' && args['upstream-claims'] !== 'userinfo') {
  console.error('--upstream-claims is id-token or userinfo');
  process.exit(2);
}
const duration = Math.min(Math.max(Number(args.duration) || 5, 1), 30);
const connections = Math.min(Math.max(Number(args.connections) || 4, 1), 32);
const warmup = Math.min(Math.max(Number(args.warmup) || 3, 1), 60);
const rounds = Math.min(Math.max(Number(args.rounds) || 2, 1), 10);

const DANA = { username: 'dana', password: 'dana-example-corp' };
const DIRECTORY_USER = { username: 'lee', password: 'lee-directory-password' };
const BASE_DN = 'dc=example,dc=org';
const READER = { dn: `cn=reader,${BASE_DN}`, password: 'reader-bench-password' };

// --- the demo upstream alone (its own process: its CPU is not the idp's) -------------------------
if (args['upstream-serve']) {
  const upstream = await startDemoUpstream({ idTokenClaims: args['upstream-claims'] !== 'userinfo' });
  process.on('message', (m: { redirectUris: string[] }) => {
    upstream.setRedirectUris(m.redirectUris);
    process.send!('ok');
  });
  process.on('SIGTERM', () => void upstream.close().then(() => process.exit(0)));
  process.stdout.write(
    `READY ${JSON.stringify({ issuer: upstream.issuer, clientId: upstream.clientId, clientSecret: upstream.clientSecret })}\n`,
  );
  await new Promise(() => {});
}

// --- the identity provider alone, wired as `gatehouse dev` wires it ------------------------------
if (args.serve) {
  const sql = await openSql({ driver: 'postgres', url: args.serve });
  await migrate(sql, [idpMigrations]);
  const state = await openState({ driver: 'memory' });
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const http = createHttpServer((req, res) => handler!(req, res));
  http.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const config = loadConfig<{ idp: IdpConfig }>({
    document: { idp: JSON.parse(args.config ?? '{}') as Record<string, unknown> },
    sections: { idp: idpConfigSchema },
    env: {},
  }).idp;
  const idp = await createIdp({
    config,
    mode: 'development',
    publicUrl: origin,
    sql,
    state,
    logger: silentLogger(),
  });
  await seedDevelopmentFixtures(idp);
  handler = idp.handler;
  // --cpu-prof-dir: V8's profiler over each measured window only (the runner says when), so a
  // window's profile holds one kind of login and no warm-up.
  let profiler: Session | undefined;
  process.on('message', (m: { profile: 'start' } | { profile: 'stop'; file: string }) => {
    void (async () => {
      if (m.profile === 'start') {
        profiler = new Session();
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.start');
      } else if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        profiler.disconnect();
        profiler = undefined;
        writeFileSync(m.file, JSON.stringify(profile));
      }
      process.send!('ok');
    })();
  });
  process.on('SIGTERM', () => {
    http.closeAllConnections();
    http.close();
    void idp
      .close()
      .then(() => state.close())
      .then(() => sql.close())
      .then(() => process.exit(0));
  });
  process.stdout.write(`READY ${origin}\n`);
  await new Promise(() => {});
}

// --- a slapd for the directory logins (Debian's OpenLDAP, a generated config in a temp folder) ---
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startSlapd(): Promise<{ url: string; child: ChildProcess; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-slapd-'));
  mkdirSync(join(dir, 'db'));
  const rootPassword = 'bench-root-password';
  writeFileSync(
    join(dir, 'slapd.conf'),
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile ${dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
database mdb
suffix "${BASE_DN}"
rootdn "cn=admin,${BASE_DN}"
rootpw ${rootPassword}
directory ${dir}/db
maxsize 16777216
overlay memberof
access to attrs=userPassword by self read by anonymous auth by * none
access to * by dn.exact="${READER.dn}" read by * none
`,
  );
  const url = `ldap://127.0.0.1:${await freePort()}`;
  const child = spawn('/usr/sbin/slapd', ['-f', join(dir, 'slapd.conf'), '-h', `${url}/`, '-d', '0'], {
    stdio: 'ignore',
  });
  const close = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const ldif = `dn: ${BASE_DN}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ${READER.dn}
objectClass: simpleSecurityObject
objectClass: organizationalRole
cn: reader
userPassword: ${READER.password}

dn: ou=people,${BASE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${BASE_DN}
objectClass: organizationalUnit
ou: groups

dn: uid=${DIRECTORY_USER.username},ou=people,${BASE_DN}
objectClass: inetOrgPerson
uid: ${DIRECTORY_USER.username}
cn: Lee Directory
sn: Directory
mail: lee@directory.example
userPassword: ${DIRECTORY_USER.password}

dn: cn=staff,ou=groups,${BASE_DN}
objectClass: groupOfNames
cn: staff
member: uid=${DIRECTORY_USER.username},ou=people,${BASE_DN}
`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      execFileSync('/usr/bin/ldapadd', ['-x', '-H', url, '-D', `cn=admin,${BASE_DN}`, '-w', rootPassword], {
        input: ldif,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      return { url, child, close };
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) {
        await close();
        throw new Error(`slapd did not start: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

// --- one login, as a fresh browser ---------------------------------------------------------------
type Kind = 'password' | 'upstream' | 'ldap';
class StepError extends Error {}

async function oneLogin(origin: string, kind: Kind): Promise<void> {
  const jars = new Map<string, Map<string, string>>(); // per origin: Gatehouse's and the upstream's
  const redirectUri = `${origin}/callback`;
  async function go(url: URL, method = 'GET', form?: Record<string, string>) {
    const jar = jars.get(url.origin) ?? new Map<string, string>();
    jars.set(url.origin, jar);
    const headers: Record<string, string> = { accept: 'text/html' };
    if (jar.size > 0) headers['cookie'] = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['origin'] = url.origin;
    }
    const res = await request(url, {
      method: method as 'GET',
      headers,
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const setCookie = res.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const pair = line.split(';')[0]!;
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), value);
    }
    const text = await res.body.text();
    const location = res.headers['location'];
    return {
      status: res.statusCode,
      text,
      location: typeof location === 'string' ? new URL(location, url) : undefined,
    };
  }

  const verifier = randomPKCECodeVerifier();
  let url = new URL(`${origin}/auth/auth`);
  url.search = new URLSearchParams({
    client_id: 'demo-app',
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid profile',
    state: 'bench',
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  let res = await go(url);
  let code: string | undefined;
  for (let hop = 0; hop < 16 && !code; hop++) {
    if (res.location) {
      if (res.location.href.startsWith(`${redirectUri}?`)) {
        code = res.location.searchParams.get('code') ?? undefined;
        if (!code) throw new StepError(`callback without code: ${res.location.search}`);
        break;
      }
      url = res.location;
      res = await go(url);
      continue;
    }
    if (res.status !== 200) throw new StepError(`${url.pathname} answered ${res.status}`);
    const forms = findForms(res.text, url).filter((f) => f.method === 'post');
    const atUpstream = url.origin !== origin;
    // Gatehouse's login page: the provider's button (upstream) or the password form; the upstream's
    // page: its password form; a first sign-in (the warm-up's first login): create the account.
    const form =
      kind === 'upstream' && !atUpstream
        ? (forms.find((f) => 'provider' in f.fields) ?? forms.find((f) => f.passwordInputs.length === 0))
        : forms.find((f) => f.passwordInputs.length > 0);
    if (!form) throw new StepError(`no form on ${url.pathname}`);
    const fields = { ...form.fields };
    if (form.passwordInputs.length > 0) {
      const who =
        kind === 'password'
          ? { username: 'alice', password: 'alice-password' }
          : kind === 'ldap'
            ? DIRECTORY_USER
            : DANA;
      fields[form.textInputs[0]!] = who.username;
      fields[form.passwordInputs[0]!] = who.password;
    }
    url = form.action;
    res = await go(url, 'POST', fields);
  }
  if (!code) throw new StepError('no code after 16 hops');
  const token = await request(`${origin}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: 'demo-app',
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await token.body.json()) as { access_token?: string };
  if (token.statusCode !== 200 || !body.access_token)
    throw new StepError(`token answered ${token.statusCode}`);
}

async function load(origin: string, kind: Kind, ms: number) {
  const samples: number[] = [];
  const errors = new Map<string, number>();
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await oneLogin(origin, kind);
          samples.push(performance.now() - t0);
        } catch (err) {
          const key =
            err instanceof StepError ? err.message.replace(/\/[A-Za-z0-9_-]{16,}/g, '/…') : String(err);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  return { samples, errors, seconds: (performance.now() - started) / 1000 };
}

// --- main ----------------------------------------------------------------------------------------
const command = `./node_modules/.bin/node bench/idp/login-federated.ts --via ${via} --duration ${duration} --connections ${connections} --warmup ${warmup} --rounds ${rounds}${via === 'upstream' ? ` --upstream-claims ${args['upstream-claims']}` : ''}`;
console.log(`# ${command}`);
const db = await openTestSql('postgres');
const children: ChildProcess[] = [];
let slapd: Awaited<ReturnType<typeof startSlapd>> | undefined;
try {
  let other: { pid: number; name: string };
  let idpSection: Record<string, unknown>;
  let upstreamChild: ChildProcess | undefined;
  if (via === 'upstream') {
    upstreamChild = spawn(
      process.execPath,
      [new URL(import.meta.url).pathname, '--upstream-serve', '--upstream-claims', args['upstream-claims']],
      {
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      },
    );
    children.push(upstreamChild);
    const upstream = JSON.parse(await childReady(upstreamChild, 'the demo upstream')) as {
      issuer: string;
      clientId: string;
      clientSecret: string;
    };
    other = { pid: upstreamChild.pid!, name: 'upstream (Example Corp, oidc-provider)' };
    idpSection = {
      brokering: {
        providers: [
          {
            id: 'example',
            name: 'Example Corp',
            issuer: upstream.issuer,
            clientId: upstream.clientId,
            clientSecret: upstream.clientSecret,
            scopes: ['openid', 'profile', 'email', 'groups'],
            roles: { claim: 'groups', map: { staff: ['staff'] }, defaultRoles: ['user'] },
          },
        ],
      },
    };
  } else {
    slapd = await startSlapd();
    other = { pid: slapd.child.pid!, name: 'directory (slapd)' };
    idpSection = {
      directory: {
        enabled: true,
        url: slapd.url,
        bindDn: READER.dn,
        bindPassword: READER.password,
        userSearch: { base: `ou=people,${BASE_DN}`, filter: '(objectClass=inetOrgPerson)' },
        groups: { mode: 'memberOf', roles: { [`cn=staff,ou=groups,${BASE_DN}`]: ['staff'] } },
      },
    };
  }
  const server = spawn(
    process.execPath,
    [new URL(import.meta.url).pathname, '--serve', db.url!, '--config', JSON.stringify(idpSection)],
    { env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  children.push(server);
  const origin = await childReady(server, 'the identity provider');
  if (upstreamChild) {
    upstreamChild.send({ redirectUris: [`${origin}/auth/interaction/broker-callback`] });
    await once(upstreamChild, 'message');
  }
  const kind = via as Kind;
  await oneLogin(origin, 'password'); // fails loudly if a flow is broken
  await oneLogin(origin, kind); // the first brokered login creates the account, then it is linked
  await load(origin, 'password', warmup * 1000);
  await load(origin, kind, warmup * 1000);

  const profileDir = args['cpu-prof-dir'];
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const profiler = async (m: { profile: 'start' } | { profile: 'stop'; file: string }) => {
    if (!profileDir) return;
    server.send(m);
    await once(server, 'message');
  };
  const measure = async (k: Kind, round: number) => {
    await profiler({ profile: 'start' });
    const idp0 = processCpuSeconds(server.pid!) ?? 0;
    const threads0 = threadCpuSeconds(server.pid!);
    const other0 = processCpuSeconds(other.pid) ?? 0;
    const run = await load(origin, k, duration * 1000);
    const logins = Math.max(run.samples.length, 1);
    const threads1 = threadCpuSeconds(server.pid!);
    const idp1 = processCpuSeconds(server.pid!) ?? 0;
    const other1 = processCpuSeconds(other.pid) ?? 0;
    await profiler({ profile: 'stop', file: join(profileDir ?? '', `${round}-${k}.cpuprofile`) });
    const hash = ((threads1.get('libuv-worker') ?? 0) - (threads0.get('libuv-worker') ?? 0)) * 1000;
    const sorted = run.samples.sort((a, b) => a - b);
    return {
      k,
      rate: run.samples.length / run.seconds,
      p50: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
      errors: [...run.errors].map(([what, n]) => `${what} ×${n}`).join('; ') || '0',
      logins: run.samples.length,
      idp: ((idp1 - idp0) * 1000) / logins,
      hash: hash / logins,
      other: ((other1 - other0) * 1000) / logins,
    };
  };
  console.log('');
  console.log(
    `| round | sign-in | logins/s | p50 | errors | idp CPU ms/login | of which libuv-worker (argon2id) | idp CPU without the hash | ${other.name} CPU ms/login | load average |`,
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const results: Awaited<ReturnType<typeof measure>>[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const k of ['password', kind] as const) {
      const r = await measure(k, round);
      results.push(r);
      console.log(
        `| ${round} | ${k === 'password' ? 'local password (alice)' : k === 'upstream' ? 'through Example Corp' : 'LDAP directory (lee)'} | ${r.rate.toFixed(1)} | ${r.p50.toFixed(1)} ms | ${r.errors} | ${r.idp.toFixed(2)} | ${r.hash.toFixed(2)} | ${(r.idp - r.hash).toFixed(2)} | ${k === 'password' ? '—' : r.other.toFixed(2)} | ${loadavg()[0]!.toFixed(1)} |`,
      );
    }
  }
  // A window with errors (a timeout, a busy database) measured something else: left out.
  const mean = (k: Kind, f: (r: (typeof results)[number]) => number) => {
    const of = results.filter((r) => r.k === k && r.errors === '0');
    return of.length === 0 ? Number.NaN : of.reduce((s, r) => s + f(r), 0) / of.length;
  };
  const left = results.filter((r) => r.errors !== '0').length;
  if (left > 0) console.log(`# ${left} window(s) with errors left out of the means below`);
  const passwordIdp = mean('password', (r) => r.idp);
  const passwordFlow = mean('password', (r) => r.idp - r.hash);
  const viaIdp = mean(kind, (r) => r.idp);
  console.log('');
  if (kind === 'upstream') {
    const added = viaIdp - passwordFlow;
    console.log(
      `# a brokered login costs the idp ${viaIdp.toFixed(2)} ms of CPU (no hash), a password login ${passwordFlow.toFixed(2)} ms without its hash (${passwordIdp.toFixed(2)} with it); the upstream ${mean(kind, (r) => r.other).toFixed(2)} ms in its own process`,
    );
    console.log(
      `# target: the broker adds at most 2 ms of CPU to a login — ${added <= 2 ? 'met' : 'NOT met'}: ${added.toFixed(2)} ms`,
    );
  } else {
    console.log(
      `# a directory login costs the idp ${viaIdp.toFixed(2)} ms of CPU, slapd ${mean(kind, (r) => r.other).toFixed(2)} ms more; a local password login ${passwordIdp.toFixed(2)} ms (${mean('password', (r) => r.hash).toFixed(2)} of it argon2id)`,
    );
    console.log(
      `# target: a directory login costs Gatehouse less CPU than a local password login — ${viaIdp < passwordIdp ? 'met' : 'NOT met'}`,
    );
  }
} finally {
  for (const child of children) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
  await slapd?.close();
  await db.cleanup();
}
