import { after, before, describe } from 'node:test';
import { type Context, Hono } from 'hono';
import { createHonoGuard, type PrincipalEnv } from '../src/guards/hono.ts';
import { guardCases, guardVerifier, principalBody, type SendRequest } from './support/guard-cases.ts';
import { startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

describe('Hono guard', () => {
  let idp: TestIssuer;
  let send: SendRequest;

  before(async () => {
    idp = await startTestIssuer();
    const guard = createHonoGuard({ verifier: guardVerifier(idp) });
    const answer = (c: Context<PrincipalEnv>) =>
      c.body(principalBody(c.get('principal')), 200, { 'content-type': 'application/json' });
    const app = new Hono<PrincipalEnv>();
    app.get('/me', guard.authenticate, answer);
    app.post('/orders', guard.authenticate, guard.requireScopes('orders:add'), answer);
    app.get('/admin', guard.authenticate, guard.requireRoles('admin'), answer);
    // In memory: Hono apps take a Request and return a Response.
    send = async (method, path, headers) => {
      const res = await app.request(path, { method, headers });
      return { status: res.status, headers: res.headers, body: await res.text() };
    };
  });

  after(() => idp.close());

  guardCases(
    'Hono',
    () => idp,
    () => send,
  );
});
