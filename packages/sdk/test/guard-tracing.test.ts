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
import type { GuardSpan, GuardTracing } from '../src/index.ts';
import { fetchFrom, guardVerifier, type SendRequest } from './support/guard-cases.ts';
import { startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

/**
 * Each framework guard given `tracing`: one span per guarded request, the child of the inbound
 * traceparent, with the decision (allow and what it rested on, or deny and the refusal's code), the
 * answer's status once it is sent, and no credential. Every app serves GET /orders behind
 * `requireScopes('orders:read')`.
 */
interface Recorded {
  name: string;
  parent: string | undefined;
  attributes: Record<string, string | number | boolean>;
  status?: number;
  ended: boolean;
}

function recordingTracing(): GuardTracing & { spans: Recorded[] } {
  const spans: Recorded[] = [];
  return {
    enabled: true,
    spans,
    startSpan(name, traceparent, attributes = {}): GuardSpan {
      const span: Recorded = { name, parent: traceparent, attributes: { ...attributes }, ended: false };
      spans.push(span);
      return {
        traceparent: `00-${'1'.repeat(32)}-${String(spans.length).padStart(16, '0')}-01`,
        set: (a) => Object.assign(span.attributes, a),
        end: (status) => {
          assert.equal(span.ended, false, 'a span ends once');
          span.ended = true;
          if (status !== undefined) span.status = status;
        },
      };
    },
  };
}

let idp: TestIssuer;
const servers: Server[] = [];
let fastify: FastifyInstance;
const apps = new Map<string, { send: SendRequest; tracing: ReturnType<typeof recordingTracing> }>();
const ok = JSON.stringify({ ok: true });

before(async () => {
  idp = await startTestIssuer();
  const verifier = guardVerifier(idp);

  const exTracing = recordingTracing();
  const ex = createExpressGuard({ verifier, tracing: exTracing });
  const app = express();
  app.get('/orders', ex.authenticate, ex.requireScopes('orders:read'), (_req, res) => {
    res.type('application/json').send(ok);
  });

  const noTracing = recordingTracing();
  const no = createNodeGuard({ verifier, tracing: noTracing });
  const plain = createServer(
    no.protect((req, res) => {
      assert.match(req.traceparent ?? '', /^00-/, 'the handler gets the guard span’s traceparent');
      res.writeHead(200, { 'content-type': 'application/json' }).end(ok);
    }, no.requireScopes('orders:read')),
  );

  const faTracing = recordingTracing();
  const fa = createFastifyGuard({ verifier, tracing: faTracing });
  fastify = Fastify();
  fastify.get('/orders', { preHandler: [fa.authenticate, fa.requireScopes('orders:read')] }, async () => ok);
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const fastifyBase = `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`;

  const hoTracing = recordingTracing();
  const ho = createHonoGuard({ verifier, tracing: hoTracing });
  const hono = new Hono<PrincipalEnv>();
  hono.get('/orders', ho.authenticate, ho.requireScopes('orders:read'), (c) => {
    assert.match(c.get('traceparent') ?? '', /^00-/, 'the handler gets the guard span’s traceparent');
    return c.text(ok);
  });

  for (const [name, server, tracing] of [
    ['Express', createServer(app), exTracing],
    ['node:http', plain, noTracing],
  ] as const) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    apps.set(name, { send: (method, path, headers) => fetchFrom(base, method, path, headers), tracing });
  }
  apps.set('Fastify', {
    send: (method, path, headers) => fetchFrom(fastifyBase, method, path, headers),
    tracing: faTracing,
  });
  apps.set('Hono', {
    send: async (method, path, headers) => {
      const res = await hono.request(path, { method, headers });
      return { status: res.status, headers: res.headers, body: await res.text() };
    },
    tracing: hoTracing,
  });
});

after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await fastify?.close();
  await idp?.close();
});

const INBOUND = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;

/** The span a request left, once its answer was sent (a server ends it on the response's close). */
async function spanOf(tracing: { spans: Recorded[] }, before: number): Promise<Recorded> {
  for (let i = 0; i < 100; i++) {
    const span = tracing.spans[before];
    if (span?.ended) {
      assert.equal(tracing.spans.length, before + 1, 'one span per request');
      return span;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no ended span: ${JSON.stringify(tracing.spans.slice(before))}`);
}

for (const framework of ['Express', 'Fastify', 'Hono', 'node:http']) {
  describe(`${framework} guard with tracing`, () => {
    test('allowed: the decision, what it rested on, the client, the status; child of the inbound traceparent', async () => {
      const { send, tracing } = apps.get(framework)!;
      const n = tracing.spans.length;
      const token = await idp.sign({ scope: 'orders:read', client_id: 'shop-app' });
      const res = await send('GET', '/orders', { authorization: `Bearer ${token}`, traceparent: INBOUND });
      assert.equal(res.status, 200, res.body);
      const span = await spanOf(tracing, n);
      assert.equal(span.parent, INBOUND);
      assert.equal(span.status, 200);
      assert.deepEqual(
        {
          decision: span.attributes['gatehouse.decision'],
          reason: span.attributes['gatehouse.decision.reason'],
          client: span.attributes['gatehouse.client_id'],
          path: span.attributes['url.path'],
        },
        { decision: 'allow', reason: 'scopes', client: 'shop-app', path: '/orders' },
      );
      assert.ok(!JSON.stringify(span).includes(token), 'the span carries no token');
    });

    test('a token without the scope: deny with the refusal’s code and 403', async () => {
      const { send, tracing } = apps.get(framework)!;
      const n = tracing.spans.length;
      const token = await idp.sign({ scope: 'orders:write' });
      const res = await send('GET', '/orders', { authorization: `Bearer ${token}` });
      assert.equal(res.status, 403);
      const span = await spanOf(tracing, n);
      assert.equal(span.parent, undefined, 'no inbound traceparent: a new trace');
      assert.equal(span.status, 403);
      assert.equal(span.attributes['gatehouse.decision'], 'deny');
      assert.equal(span.attributes['gatehouse.decision.reason'], 'SDK_INSUFFICIENT_SCOPE');
    });

    test('no token: deny SDK_TOKEN_MISSING and 401', async () => {
      const { send, tracing } = apps.get(framework)!;
      const n = tracing.spans.length;
      const res = await send('GET', '/orders', {});
      assert.equal(res.status, 401);
      const span = await spanOf(tracing, n);
      assert.equal(span.status, 401);
      assert.equal(span.attributes['gatehouse.decision'], 'deny');
      assert.equal(span.attributes['gatehouse.decision.reason'], 'SDK_TOKEN_MISSING');
    });
  });
}
