import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import { createExpressGuard } from '../src/guards/express.ts';
import { createFastifyGuard } from '../src/guards/fastify.ts';
import { createHonoGuard, type PrincipalEnv } from '../src/guards/hono.ts';
import { createNodeGuard } from '../src/guards/node-http.ts';
import { createPermissionClient, type PermissionClient } from '../src/index.ts';
import { type AuthzService, startAuthzService } from './support/authz-service.ts';
import { fetchFrom, guardVerifier, type SendRequest } from './support/guard-cases.ts';
import { startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

/**
 * Every framework guard's `requirePermission` against the real engine: `GET /documents/{id}` needs
 * `viewer` on `document:{id}`; `GET /down/documents/{id}` asks an engine that is not there.
 * Users are `user:{sub}`, services `client:{client_id}` (the default subject templates).
 */
let idp: TestIssuer;
let svc: AuthzService;
let live: PermissionClient;
let down: PermissionClient;
const servers: Server[] = [];
let fastify: FastifyInstance;
const apps = new Map<string, SendRequest>();

before(async () => {
  idp = await startTestIssuer();
  svc = await startAuthzService([
    { object: 'document:roadmap', relation: 'owner', user: 'user:anne' },
    { object: 'folder:ops', relation: 'viewer', user: 'client:reports' },
    { object: 'document:runbook', relation: 'parent', user: 'folder:ops' },
  ]);
  live = createPermissionClient({ url: svc.url, store: svc.storeId });
  // A port that was open a moment ago and is closed now: nothing answers there.
  const gone = createServer();
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
  const goneUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
  await new Promise((resolve) => gone.close(resolve));
  down = createPermissionClient({ url: goneUrl, store: svc.storeId, cache: false });
  const verifier = guardVerifier(idp);
  const ok = JSON.stringify({ ok: true });
  const viewer = (client: PermissionClient) => ({ client, relation: 'viewer', object: 'document:{id}' });

  const ex = createExpressGuard({ verifier });
  const app = express();
  app.get('/documents/:id', ex.authenticate, ex.requirePermission(viewer(live)), (_req, res) => {
    res.type('application/json').send(ok);
  });
  app.get('/down/documents/:id', ex.authenticate, ex.requirePermission(viewer(down)), (_req, res) => {
    res.type('application/json').send(ok);
  });

  const fa = createFastifyGuard({ verifier });
  fastify = Fastify();
  fastify.get(
    '/documents/:id',
    { preHandler: [fa.authenticate, fa.requirePermission(viewer(live))] },
    async () => ok,
  );
  fastify.get(
    '/down/documents/:id',
    { preHandler: [fa.authenticate, fa.requirePermission(viewer(down))] },
    async () => ok,
  );

  const ho = createHonoGuard({ verifier });
  const hono = new Hono<PrincipalEnv>();
  hono.get('/documents/:id', ho.authenticate, ho.requirePermission(viewer(live)), (c) => c.text(ok));
  hono.get('/down/documents/:id', ho.authenticate, ho.requirePermission(viewer(down)), (c) => c.text(ok));

  const no = createNodeGuard({ verifier });
  // node:http has no router: the object comes from the path.
  const fromPath = (client: PermissionClient) => ({
    client,
    relation: 'viewer',
    object: ({ path }: { path: string }) => {
      const m = /^(?:\/down)?\/documents\/([A-Za-z0-9_-]+)$/.exec(path);
      return m ? `document:${m[1]}` : undefined;
    },
  });
  const plain = createServer((req, res) => {
    const client = req.url?.startsWith('/down/') ? down : live;
    no.protect(
      (_r, w) => w.writeHead(200, { 'content-type': 'application/json' }).end(ok),
      no.requirePermission(fromPath(client)),
    )(req, res);
  });

  for (const [name, server] of [
    ['Express', createServer(app)],
    ['node:http', plain],
  ] as const) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    apps.set(name, (method, path, headers) => fetchFrom(base, method, path, headers));
  }
  await fastify.ready();
  apps.set('Fastify', async (method, path, headers) => {
    const res = await fastify.inject({ method: method as 'GET', url: path, headers });
    return { status: res.statusCode, headers: new Headers(), body: res.body };
  });
  apps.set('Hono', async (method, path, headers) => {
    const res = await hono.request(path, { method, headers });
    return { status: res.status, headers: res.headers, body: await res.text() };
  });
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await fastify?.close();
  await live?.close();
  await down?.close();
  await svc?.close();
  await idp?.close();
});

const userToken = (sub: string) => idp.sign({ sub });
// A client-credentials token: sub is the client itself, no session, no username.
const serviceToken = (client: string) =>
  idp.sign({ sub: client, client_id: client, sid: undefined, username: undefined });

const cases = [
  {
    name: 'the owner of the document',
    token: () => userToken('anne'),
    path: '/documents/roadmap',
    status: 200,
  },
  {
    name: 'a user with no relation',
    token: () => userToken('bob'),
    path: '/documents/roadmap',
    status: 403,
    code: 'SDK_PERMISSION_DENIED',
  },
  {
    name: 'a service viewing through a folder',
    token: () => serviceToken('reports'),
    path: '/documents/runbook',
    status: 200,
  },
  {
    name: 'a service outside the folder',
    token: () => serviceToken('reports'),
    path: '/documents/roadmap',
    status: 403,
    code: 'SDK_PERMISSION_DENIED',
  },
  {
    name: 'a user whose id could name a userset',
    token: () => userToken('anne#member'),
    path: '/documents/roadmap',
    status: 403,
    code: 'SDK_PERMISSION_DENIED',
  },
  {
    name: 'the engine down (fail closed)',
    token: () => userToken('anne'),
    path: '/down/documents/roadmap',
    status: 503,
    code: 'SDK_PERMISSION_UNAVAILABLE',
  },
];

for (const framework of ['Express', 'Fastify', 'Hono', 'node:http']) {
  describe(`${framework} guard: requirePermission`, () => {
    for (const c of cases) {
      test(`${c.name} → ${c.status}${c.code ? ` ${c.code}` : ''}`, async () => {
        const res = await apps.get(framework)!('GET', c.path, { authorization: `Bearer ${await c.token()}` });
        assert.equal(res.status, c.status, res.body);
        if (c.code) assert.equal(JSON.parse(res.body).error, c.code);
        else assert.deepEqual(JSON.parse(res.body), { ok: true });
      });
    }
  });
}
