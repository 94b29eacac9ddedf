/**
 * The floor under a password login on this stack: what the five HTTP requests and the eight SQL
 * statements of one login cost a Node.js process when it does no protocol work at all, next to what
 * the password hash alone costs, so the per-core budget of a login can be checked against what no
 * implementation on node:http and the `postgres` driver can go below.
 *
 *   ./node_modules/.bin/node bench/idp/login-floor.ts [--duration 5] [--connections 8] [--rounds 3]
 *
 * The floor server answers the requests of one login (as `bench/idp/login.ts` traces them) with
 * answers of the real ones' shape and size, and runs the real login's statements against the
 * identity provider's own tables (its migrations, in a fresh PostgreSQL schema), with its
 * transactions and commits:
 *
 *   GET  /auth/auth                     insert the interaction                        → 303, 4 cookies
 *   GET  /auth/interaction/:uid         read it                                       → 200, 3.2 kB page
 *   POST /auth/interaction/:uid/login   read it with the user, write it + audit event → 303
 *   GET  /auth/auth/:uid                read it with the user; delete it, write the session, the
 *                                       grant and the code in one statement           → 303, 4 cookies
 *   POST /auth/token                    read the code with its grant; consume it, record the token
 *                                       and an audit event in one statement           → 200, 1.3 kB JSON
 *
 * What it leaves out is everything a login does besides: parsing and checking the OpenID Connect
 * request, cookies and their signatures, CSRF, the brute-force check, rendering, the ID token's and
 * access token's ES256 signatures, oidc-provider's and Koa's pipeline. So its CPU per login is a
 * lower bound for any login flow in one Node.js process with this storage, not an estimate of ours.
 *
 * Each round measures the hash alone first (argon2id verifies at the identity provider's parameters,
 * `bench/idp/login.ts --hash-baseline`, libuv pool of one thread, same concurrency), then the floor
 * server under --connections virtual users; CPU is read from /proc for the server process (all
 * threads) as `login.ts` reads it. It prints, per round and as medians, the floor's CPU ms per login,
 * the hash's CPU ms per verify, their sum, and the logins per CPU-second that sum allows at most,
 * against the target of 80 (12.5 ms per login).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { loadavg } from 'node:os';
import { migrate, openSql, type Sql } from '@gatehouse/core';
import { openTestSql } from '@gatehouse/core/testing';
import { idpMigrations } from '@gatehouse/idp';
import { request } from 'undici';
import { benchArgs } from '../bench-args.ts';
import { childReady } from '../child-ready.ts';
import { processCpuSplitSeconds, threadCpuSeconds } from '../process-cpu.ts';

const args = benchArgs(import.meta.url, {
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '8' },
  rounds: { type: 'string', default: '3' },
  serve: { type: 'string' },
});
const duration = Math.min(Math.max(Number(args.duration) || 5, 1), 30);
const connections = Math.min(Math.max(Number(args.connections) || 8, 1), 64);
const rounds = Math.min(Math.max(Number(args.rounds) || 3, 1), 10);

const id = () => randomBytes(32).toString('base64url');
/** A JSON payload of about `bytes` characters, as oidc-provider's models are (claims, ids, dates). */
function payload(kind: string, bytes: number, extra: Record<string, unknown> = {}): string {
  const body = {
    kind,
    jti: id(),
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 3600,
    ...extra,
  };
  const base = JSON.stringify(body);
  return JSON.stringify({ ...body, pad: 'x'.repeat(Math.max(0, bytes - base.length - 10)) });
}

// --- the floor server (a child process: its own event loop, as the identity provider has) ---------
if (args.serve) {
  const sql: Sql = await openSql({ driver: 'postgres', url: args.serve });
  await migrate(sql, [idpMigrations]);
  const aliceId = '00000000-0000-4000-8000-000000000001';
  await sql.query(
    `insert into idp_users (id, username, username_key, email, email_key, password_hash)
     values ($1, 'alice', 'alice', 'alice@example.com', 'alice@example.com', $2)`,
    [aliceId, `$argon2id$v=19$m=19456,t=2,p=1$${'s'.repeat(22)}$${'h'.repeat(43)}`],
  );
  const page = (uid: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body><form method="post" action="/auth/interaction/${uid}/login">${'<p>'.padEnd(3000, '.')}</form></body></html>`;
  const cookies = (name: string) => [
    `${name}=${id()}; path=/auth; expires=Thu, 01 Jan 2099 00:00:00 GMT; samesite=lax; httponly`,
    `${name}.sig=${id().slice(0, 27)}; path=/auth; expires=Thu, 01 Jan 2099 00:00:00 GMT; samesite=lax; httponly`,
    `${name}.legacy=${id()}; path=/auth; expires=Thu, 01 Jan 2099 00:00:00 GMT; httponly`,
    `${name}.legacy.sig=${id().slice(0, 27)}; path=/auth; expires=Thu, 01 Jan 2099 00:00:00 GMT; httponly`,
  ];
  const redirect = (res: ServerResponse, location: string, setCookie: string[] = []) => {
    const body = `Redirecting to <a href="${location}">${location}</a>.`;
    res.writeHead(303, {
      location,
      'set-cookie': setCookie,
      'cache-control': 'no-store',
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  };
  const readBody = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  };
  const account = `(select json_build_object('id', u.id, 'username', u.username, 'enabled', u.enabled, 'password_hash', u.password_hash) from idp_users u where u.username_key = $3)`;
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url!.split('?')[0]!;
    const parts = path.split('/'); // '', 'auth', ...
    if (req.method === 'GET' && path === '/auth/auth') {
      const uid = id();
      await sql.query(
        `insert into idp_oidc_models (model, id, payload, uid, expires_at) values ('Interaction', $1, $2::jsonb, $1, now() + interval '1 hour')`,
        [uid, payload('Interaction', 1000, { params: req.url })],
      );
      return redirect(res, `/auth/interaction/${uid}`, cookies('_interaction'));
    }
    if (req.method === 'GET' && parts[2] === 'interaction' && parts.length === 4) {
      const rows = await sql.query(
        `select payload, consumed_at from idp_oidc_models where model = 'Interaction' and id = $1 and (expires_at is null or expires_at > now()) limit 1`,
        [parts[3]],
      );
      if (rows.length !== 1) throw new Error('interaction not found');
      const html = page(parts[3]!);
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': String(Buffer.byteLength(html)),
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'; style-src 'self'; form-action 'self'",
        'x-frame-options': 'DENY',
      });
      return void res.end(html);
    }
    if (req.method === 'POST' && parts[2] === 'interaction' && parts[4] === 'login') {
      const form = new URLSearchParams(await readBody(req));
      const rows = await sql.query<{ payload: Record<string, unknown>; account: { id: string } | null }>(
        `select payload, consumed_at, ${account} as account from idp_oidc_models where model = $1 and id = $2`,
        ['Interaction', parts[3], form.get('username') ?? ''],
      );
      const user = rows[0]?.account;
      if (!user) throw new Error('no interaction or user');
      await sql.query(
        `with w0 as (update idp_oidc_models set payload = $3::jsonb where model = $1 and id = $2),
              w1 as (insert into idp_audit_events (type, actor, subject, client_id, source_ip, details) values ('login.succeeded', $4, $4, 'demo-app', '127.0.0.1', '{}'::jsonb))
         select 1`,
        [
          'Interaction',
          parts[3],
          payload('Interaction', 1200, { result: { login: { accountId: user.id } } }),
          user.id,
        ],
      );
      return redirect(res, `/auth/auth/${parts[3]}`);
    }
    if (req.method === 'GET' && parts[2] === 'auth' && parts.length === 4) {
      const rows = await sql.query<{ payload: { result: { login: { accountId: string } } } }>(
        `select payload, consumed_at, (select json_build_object('id', u.id, 'username', u.username, 'enabled', u.enabled) from idp_users u where u.id = (payload->'result'->'login'->>'accountId')::uuid) as account
         from idp_oidc_models where model = 'Interaction' and id = $1`,
        [parts[3]],
      );
      const accountId = rows[0]?.payload.result.login.accountId;
      if (!accountId) throw new Error('interaction without login');
      const [session, grant, code] = [id(), id(), id()];
      await sql.query(
        `with w0 as (delete from idp_oidc_models where model = 'Interaction' and id = $1),
              w1 as (insert into idp_oidc_models (model, id, payload, uid, expires_at) values ('Session', $2, $3::jsonb, $2, now() + interval '14 days')),
              w2 as (insert into idp_oidc_models (model, id, payload, grant_id, expires_at) values ('Grant', $4, $5::jsonb, $4, now() + interval '14 days')),
              w3 as (insert into idp_oidc_models (model, id, payload, grant_id, expires_at) values ('AuthorizationCode', $6, $7::jsonb, $4, now() + interval '1 minute'))
         select 1`,
        [
          parts[3],
          session,
          payload('Session', 400, { accountId }),
          grant,
          payload('Grant', 300, { accountId }),
          code,
          payload('AuthorizationCode', 700, { accountId, grantId: grant, sessionUid: session }),
        ],
      );
      return redirect(
        res,
        `http://127.0.0.1/callback?code=${code}&state=bench&iss=http%3A%2F%2F127.0.0.1%2Fauth`,
        cookies('_session'),
      );
    }
    if (req.method === 'POST' && path === '/auth/token') {
      const form = new URLSearchParams(await readBody(req));
      const rows = await sql.query<{ payload: { accountId: string }; grant_payload: unknown }>(
        `select t.payload, t.consumed_at, t.grant_id, g.payload as grant_payload
         from idp_oidc_models t left join idp_oidc_models g on g.model = 'Grant' and g.id = t.grant_id
         where t.model = 'AuthorizationCode' and t.id = $1`,
        [form.get('code')],
      );
      const row = rows[0];
      if (!row?.grant_payload) throw new Error('code not found');
      const jti = id();
      await sql.query(
        `with w0 as (update idp_oidc_models set consumed_at = now() where model = 'AuthorizationCode' and id = $1 and consumed_at is null returning id),
              w1 as (insert into idp_oidc_models (model, id, payload, expires_at) select 'JwtAccessToken', $2, $3::jsonb, now() + interval '10 minutes' from w0),
              w2 as (insert into idp_audit_events (type, actor, subject, client_id, source_ip, details) select 'token.issued', 'demo-app', $4, 'demo-app', '127.0.0.1', '{}'::jsonb from w0)
         select count(*) from w0`,
        [
          form.get('code'),
          jti,
          payload('JwtAccessToken', 300, { accountId: row.payload.accountId }),
          row.payload.accountId,
        ],
      );
      const body = JSON.stringify({
        access_token: 'a'.repeat(560),
        expires_in: 600,
        id_token: 'i'.repeat(620),
        scope: 'openid profile',
        token_type: 'Bearer',
      });
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'no-store',
        pragma: 'no-cache',
      });
      return void res.end(body);
    }
    res.writeHead(404).end();
  }
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(err.message);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void sql.close().then(() => process.exit(0));
  });
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as { port: number }).port}\n`);
  await new Promise(() => {});
}

// --- the load: one login = the five requests, as a browser sends them ------------------------------
async function oneLogin(origin: string): Promise<void> {
  const cookie = `_interaction=${id()}; _interaction.sig=${id().slice(0, 27)}; _interaction.legacy=${id()}; _interaction.legacy.sig=${id().slice(0, 27)}`;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${origin}${path}`, { headers: { accept: 'text/html', ...headers } });
    await res.body.text();
    return res;
  };
  let res = await get(
    `/auth/auth?client_id=demo-app&response_type=code&redirect_uri=${encodeURIComponent(`${origin}/callback`)}&scope=openid+profile&state=bench&code_challenge=${id()}&code_challenge_method=S256`,
  );
  const interaction = String(res.headers.location);
  res = await get(interaction, { cookie });
  if (res.statusCode !== 200) throw new Error(`login page answered ${res.statusCode}`);
  const login = await request(`${origin}${interaction}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie },
    body: `csrf=${id()}&username=alice&password=alice-password`,
  });
  await login.body.text();
  res = await get(String(login.headers.location), { cookie });
  const code = new URL(String(res.headers.location)).searchParams.get('code');
  if (!code) throw new Error(`resume answered ${res.statusCode} without a code`);
  const token = await request(`${origin}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(`${origin}/callback`)}&client_id=demo-app&code_verifier=${id()}`,
  });
  await token.body.text();
  if (token.statusCode !== 200) throw new Error(`token answered ${token.statusCode}`);
}

async function load(origin: string, ms: number): Promise<number> {
  let logins = 0;
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        await oneLogin(origin);
        logins++;
      }
    }),
  );
  return logins;
}

async function hashAlone(): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      new URL('./login.ts', import.meta.url).pathname,
      '--hash-baseline',
      '--duration',
      String(duration),
      '--connections',
      String(connections),
    ],
    { env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`hash baseline exited with ${code}`);
  return (JSON.parse(out) as { cpuMsPerVerify: number }).cpuMsPerVerify;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// --- main --------------------------------------------------------------------------------------------
const command = `./node_modules/.bin/node bench/idp/login-floor.ts --duration ${duration} --connections ${connections} --rounds ${rounds}`;
console.log(`# ${command}`);
const db = await openTestSql('postgres');
const server = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve', db.url!], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const serverExit = once(server, 'exit');
try {
  const origin = await childReady(server, 'the floor server');
  console.log(`# floor server at ${origin}, PostgreSQL schema ${db.schema}; ${connections} virtual users`);
  console.log('');
  console.log(
    '| round | hash alone, CPU ms/verify | floor: logins/s | floor: server CPU ms/login | of which kernel | of which event loop | hash + floor, ms | at most, logins per CPU-second | load average |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const hashes: number[] = [];
  const floors: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const hashMs = await hashAlone();
    await load(origin, 1000);
    const before = processCpuSplitSeconds(server.pid!);
    const loopBefore = threadCpuSeconds(server.pid!).get('MainThread') ?? 0;
    const started = performance.now();
    const logins = await load(origin, duration * 1000);
    const seconds = (performance.now() - started) / 1000;
    const after = processCpuSplitSeconds(server.pid!);
    const loopAfter = threadCpuSeconds(server.pid!).get('MainThread') ?? 0;
    const floorMs = ((after.user + after.system - before.user - before.system) * 1000) / logins;
    const kernelMs = ((after.system - before.system) * 1000) / logins;
    const loopMs = ((loopAfter - loopBefore) * 1000) / logins;
    hashes.push(hashMs);
    floors.push(floorMs);
    console.log(
      `| ${round} | ${hashMs.toFixed(2)} | ${(logins / seconds).toFixed(0)} | ${floorMs.toFixed(2)} | ${kernelMs.toFixed(2)} | ${loopMs.toFixed(2)} | ${(hashMs + floorMs).toFixed(2)} | ${(1000 / (hashMs + floorMs)).toFixed(1)} | ${loadavg()[0]!.toFixed(1)} |`,
    );
  }
  const hashMs = median(hashes);
  const floorMs = median(floors);
  console.log('');
  console.log(
    `# medians: the hash alone ${hashMs.toFixed(2)} ms per verify (${(1000 / hashMs).toFixed(1)} per CPU-second); the floor of the rest of a login ${floorMs.toFixed(2)} ms of server CPU`,
  );
  console.log(
    `# the target, 80 logins per core, allows 12.5 ms per login: ${hashMs.toFixed(2)} + ${floorMs.toFixed(2)} = ${(hashMs + floorMs).toFixed(2)} ms, so at most ${(1000 / (hashMs + floorMs)).toFixed(1)} logins per CPU-second on this machine before any protocol work — ${hashMs + floorMs <= 12.5 ? 'within the target' : 'above the target'}`,
  );
} finally {
  server.kill('SIGTERM');
  await serverExit;
  await db.cleanup();
}
