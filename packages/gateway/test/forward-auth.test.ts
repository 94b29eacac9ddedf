import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@gatehouse/core/testing';
import { gatewayErrors } from '../src/errors.ts';
import {
  echoed,
  type Harness,
  type Keys,
  makeKeys,
  mintToken,
  send,
  startEcho,
  startGateway,
  type Upstream,
} from './harness.ts';

const FA = '/_gatehouse/forward-auth';

let upstream: Upstream;
let trusted: Harness;
let untrusted: Harness;
let keys: Keys;

const routes = (upstreamUrl: string) => [
  { id: 'products', match: { path: '/products' }, upstreams: [upstreamUrl], policy: 'authenticated' },
  { id: 'admin', match: { path: '/products/admin' }, upstreams: [upstreamUrl], policy: { roles: ['admin'] } },
  { id: 'health', match: { path: '/health' }, upstreams: [upstreamUrl], policy: 'public' },
  { id: 'internal', match: { path: '/microservice' }, upstreams: [upstreamUrl], policy: 'internal' },
];

before(async () => {
  upstream = await startEcho();
  keys = await makeKeys();
  trusted = await startGateway({ trustedProxies: ['127.0.0.1/32'], routes: routes(upstream.url) }, { keys });
  untrusted = await startGateway({ routes: routes(upstream.url) }, { keys });
});

after(async () => {
  await trusted.close();
  await untrusted.close();
  await upstream.close();
});

const bearer = (t: string): [string, string] => ['Authorization', `Bearer ${t}`];

describe('forward-auth endpoint', () => {
  test('a valid token: 200 with the identity headers, empty body', async () => {
    const t = await mintToken(keys, { sub: 'alice', username: 'alice', roles: ['user'], client_id: 'web' });
    const a = await send(trusted.url, FA, {
      headers: [
        bearer(t),
        ['X-Forwarded-Method', 'GET'],
        ['X-Forwarded-Uri', '/products/7'],
        ['X-Forwarded-Host', 'shop.test'],
      ],
    });
    assert.equal(a.status, 200);
    assert.equal(a.text, '');
    assert.equal(a.headers['x-user-id'], 'alice');
    assert.equal(a.headers['x-user-name'], 'alice');
    assert.equal(a.headers['x-user-roles'], 'user');
    assert.equal(a.headers['x-client-id'], 'web');
  });

  test('nginx style X-Original-URI is read too', async () => {
    const t = await mintToken(keys, { roles: ['admin'] });
    const a = await send(trusted.url, FA, {
      headers: [bearer(t), ['X-Original-URI', '/products/admin/stats']],
    });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-user-roles'], 'admin');
  });

  test('no token: 401 with the Bearer challenge', async () => {
    const a = await send(trusted.url, FA, { headers: [['X-Forwarded-Uri', '/products/1']] });
    assert.equal(a.status, 401);
    assert.equal(a.headers['www-authenticate'], 'Bearer realm="gatehouse"');
    assert.equal(a.json().error, 'SDK_TOKEN_MISSING');
  });

  test('a missing role: 403', async () => {
    const t = await mintToken(keys, { roles: ['user'] });
    const a = await send(trusted.url, FA, { headers: [bearer(t), ['X-Forwarded-Uri', '/products/admin']] });
    assert.equal(a.status, 403);
    assert.equal(a.json().error, 'SDK_INSUFFICIENT_ROLE');
  });

  test('an ambiguous original path: 403 GW_PATH_AMBIGUOUS', async () => {
    const t = await mintToken(keys, { roles: ['user'] });
    const a = await send(trusted.url, FA, { headers: [bearer(t), ['X-Forwarded-Uri', '/products%2fadmin']] });
    assert.equal(a.status, 403);
    assert.equal(a.json().error, 'GW_PATH_AMBIGUOUS');
  });

  test('an internal or unknown original path: 403 GW_NOT_FOUND', async () => {
    const t = await mintToken(keys, { roles: ['admin'] });
    for (const uri of ['/microservice/orders/add', '/nowhere']) {
      const a = await send(trusted.url, FA, { headers: [bearer(t), ['X-Forwarded-Uri', uri]] });
      assert.equal(a.status, 403);
      assert.equal(a.json().error, 'GW_NOT_FOUND');
    }
  });

  test('a public original path without a token: 200 and no identity', async () => {
    const a = await send(trusted.url, FA, {
      headers: [
        ['X-Forwarded-Uri', '/health'],
        ['X-User-ID', 'admin'],
      ],
    });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-user-id'], undefined);
  });

  test('no original URI: 403 GW_FORWARD_AUTH_NO_URI', async () => {
    const a = await send(trusted.url, FA, { headers: [bearer(await mintToken(keys))] });
    assert.equal(a.status, 403);
    assert.equal(a.json().error, 'GW_FORWARD_AUTH_NO_URI');
    // docs/errors.md is generated from the catalog: it must say what the endpoint answers.
    assert.equal(gatewayErrors.catalog.GW_FORWARD_AUTH_NO_URI.status, a.status);
  });

  test('Envoy style: the original path after the prefix, the request method and Host', async () => {
    const t = await mintToken(keys, { sub: 'alice', roles: ['user'] });
    const ok = await send(trusted.url, `${FA}/products/7?x=1`, { method: 'DELETE', headers: [bearer(t)] });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-user-id'], 'alice');
    const denied = await send(trusted.url, `${FA}/products/%61dmin`, { headers: [bearer(t)] });
    assert.equal(denied.status, 403);
    assert.equal(denied.json().error, 'SDK_INSUFFICIENT_ROLE');
  });

  test('Envoy style: headers cannot override the original path', async () => {
    const t = await mintToken(keys, { roles: ['user'] });
    const a = await send(trusted.url, `${FA}/products/admin`, {
      headers: [bearer(t), ['X-Forwarded-Uri', '/products/1']],
    });
    assert.equal(a.status, 403);
    assert.equal(a.json().error, 'SDK_INSUFFICIENT_ROLE');
  });

  test('Envoy style: an ambiguous original path is refused: 400 GW_PATH_AMBIGUOUS', async () => {
    // Refused while normalizing the auth request itself; Envoy denies on any status but 2xx.
    const t = await mintToken(keys, { roles: ['user'] });
    const a = await send(trusted.url, `${FA}/products%2fadmin`, { headers: [bearer(t)] });
    assert.equal(a.status, 400);
    assert.equal(a.json().error, 'GW_PATH_AMBIGUOUS');
  });

  test('a peer that is not a trusted proxy: 403 GW_FORWARD_AUTH_UNTRUSTED', async () => {
    const a = await send(untrusted.url, FA, {
      headers: [bearer(await mintToken(keys)), ['X-Forwarded-Uri', '/products/1']],
    });
    assert.equal(a.status, 403);
    assert.equal(a.json().error, 'GW_FORWARD_AUTH_UNTRUSTED');
  });
});

// ---------------------------------------------------------------------------------------------
// Debian's nginx with auth_request pointed at the forward-auth endpoint, on loopback.

const NGINX = '/usr/sbin/nginx';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const nginxMissing = existsSync(NGINX) ? false : `${NGINX} is not installed (apt-get install -y nginx)`;
if (nginxMissing) {
  if (process.env.CI === 'true') throw new Error(`nginx auth_request test needs nginx: ${nginxMissing}`);
  console.log(`# skipping the nginx auth_request test: ${nginxMissing}`);
}

describe('nginx auth_request in front of the forward-auth endpoint', { skip: nginxMissing }, () => {
  let nginx: ChildProcess | undefined;
  let dir: string;
  let nginxUrl: string;
  let stderr = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'));
    const port = await freePort();
    nginxUrl = `http://127.0.0.1:${port}`;
    const gatewayPort = new URL(trusted.url).port;
    const upstreamPort = new URL(upstream.url).port;
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      auth_request /_auth;
      auth_request_set $user_id $upstream_http_x_user_id;
      auth_request_set $user_roles $upstream_http_x_user_roles;
      proxy_set_header X-User-ID $user_id;
      proxy_set_header X-User-Roles $user_roles;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
    location = /_auth {
      internal;
      proxy_pass http://127.0.0.1:${gatewayPort}${FA};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`,
    );
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    nginx.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await waitFor(() => portOpen(port), { timeoutMs: 15_000, what: `nginx to listen (${stderr})` });
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx!.once('exit', resolve));
      nginx.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('a valid token passes with the identity headers', async () => {
    const t = await mintToken(keys, { sub: 'alice', roles: ['user'] });
    const e = echoed(await send(nginxUrl, '/products/7', { headers: [bearer(t)] }));
    assert.equal(e.url, '/products/7');
    assert.equal(e.headers['x-user-id'], 'alice');
    assert.equal(e.headers['x-user-roles'], 'user');
  });

  test('a spoofed X-User-ID beside a valid token is replaced by the verified one', async () => {
    const t = await mintToken(keys, { sub: 'alice', roles: ['user'] });
    const e = echoed(await send(nginxUrl, '/products/7', { headers: [['X-User-ID', 'admin'], bearer(t)] }));
    assert.equal(e.headers['x-user-id'], 'alice');
  });

  test('a bad token is stopped with 401', async () => {
    const before = upstream.received.length;
    const a = await send(nginxUrl, '/products/7', { headers: [bearer('bad.token.value')] });
    assert.equal(a.status, 401);
    assert.equal(upstream.received.length, before);
  });

  test('a missing role is stopped with 403', async () => {
    const t = await mintToken(keys, { roles: ['user'] });
    const a = await send(nginxUrl, '/products/admin', { headers: [bearer(t)] });
    assert.equal(a.status, 403);
  });

  test('a path trick through nginx is stopped with 403', async () => {
    const t = await mintToken(keys, { roles: ['user'] });
    const a = await send(nginxUrl, '/products/%61dmin', { headers: [bearer(t)] });
    assert.equal(a.status, 403);
  });
});
