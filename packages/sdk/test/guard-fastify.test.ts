import { after, before, describe } from 'node:test';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { createFastifyGuard, principalOf } from '../src/guards/fastify.ts';
import { guardCases, guardVerifier, principalBody, type SendRequest } from './support/guard-cases.ts';
import { startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

describe('Fastify guard', () => {
  let idp: TestIssuer;
  let app: FastifyInstance;
  let send: SendRequest;

  before(async () => {
    idp = await startTestIssuer();
    const guard = createFastifyGuard({ verifier: guardVerifier(idp) });
    const answer = async (request: FastifyRequest, reply: FastifyReply) =>
      reply.type('application/json').send(principalBody(principalOf(request)));
    app = Fastify();
    app.get('/me', { preHandler: guard.authenticate }, answer);
    app.post('/orders', { preHandler: [guard.authenticate, guard.requireScopes('orders:add')] }, answer);
    app.get('/admin', { preHandler: [guard.authenticate, guard.requireRoles('admin')] }, answer);
    await app.ready();
    // In memory (light-my-request): no port to clean up.
    send = async (method, path, headers) => {
      const res = await app.inject({ method: method as 'GET', url: path, headers });
      const out = new Headers();
      for (const [name, value] of Object.entries(res.headers))
        if (value !== undefined) out.set(name, String(value));
      return { status: res.statusCode, headers: out, body: res.body };
    };
  });

  after(async () => {
    await app.close();
    await idp.close();
  });

  guardCases(
    'Fastify',
    () => idp,
    () => send,
  );
});
