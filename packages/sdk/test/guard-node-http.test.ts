import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createNodeGuard } from '../src/guards/node-http.ts';
import {
  fetchFrom,
  guardCases,
  guardVerifier,
  principalBody,
  type SendRequest,
} from './support/guard-cases.ts';
import { startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

describe('node:http guard', () => {
  let idp: TestIssuer;
  let server: Server;
  let send: SendRequest;

  before(async () => {
    idp = await startTestIssuer();
    const guard = createNodeGuard({ verifier: guardVerifier(idp) });
    const answer = guard.protect((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(principalBody(req.principal));
    });
    const routes: Record<string, ReturnType<typeof guard.protect>> = {
      'GET /me': answer,
      'POST /orders': guard.protect((req, res) => answer(req, res), guard.requireScopes('orders:add')),
      'GET /admin': guard.protect((req, res) => answer(req, res), guard.requireRoles('admin')),
    };
    server = createServer((req, res) => {
      const route = routes[`${req.method} ${req.url}`];
      if (route) route(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    send = (method, path, headers) => fetchFrom(base, method, path, headers);
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await idp.close();
  });

  guardCases(
    'node:http',
    () => idp,
    () => send,
  );

  it('reports each refusal to the logger with its code, never the token', async () => {
    const logged: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const guard = createNodeGuard({
      verifier: guardVerifier(idp),
      logger: { warn: (fields, message) => logged.push({ fields, message }) },
    });
    const listener = guard.protect((_req, res) => res.end('ok'), guard.requireRoles('admin'));
    const local = createServer(listener);
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(local.address() as AddressInfo).port}`;
      const expired = await idp.sign({ exp: 1000 });
      const customer = await idp.sign({ roles: ['customer'] });
      await fetchFrom(base, 'GET', '/a?secret=1', { authorization: `Bearer ${expired}` });
      await fetchFrom(base, 'POST', '/b', { authorization: `Bearer ${customer}` });
      assert.deepEqual(logged, [
        {
          fields: { code: 'SDK_TOKEN_EXPIRED', status: 401, method: 'GET', path: '/a' },
          message: 'request refused',
        },
        {
          fields: { code: 'SDK_INSUFFICIENT_ROLE', status: 403, method: 'POST', path: '/b' },
          message: 'request refused',
        },
      ]);
      assert.ok(!JSON.stringify(logged).includes(expired.split('.')[2]!));
    } finally {
      local.closeAllConnections();
      await new Promise((resolve) => local.close(resolve));
    }
  });
});
