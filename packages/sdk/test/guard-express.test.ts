import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe } from 'node:test';
import express, { type Request, type Response } from 'express';
import { createExpressGuard, principalOf } from '../src/guards/express.ts';
import {
  fetchFrom,
  guardCases,
  guardVerifier,
  principalBody,
  type SendRequest,
} from './support/guard-cases.ts';
import { startTestIssuer, type TestIssuer } from './support/test-issuer.ts';

describe('Express guard', () => {
  let idp: TestIssuer;
  let server: Server;
  let send: SendRequest;

  before(async () => {
    idp = await startTestIssuer();
    const guard = createExpressGuard({ verifier: guardVerifier(idp) });
    const answer = (req: Request, res: Response) => {
      res.type('application/json').send(principalBody(principalOf(req)));
    };
    const app = express();
    app.get('/me', guard.authenticate, answer);
    app.post('/orders', guard.authenticate, guard.requireScopes('orders:add'), answer);
    // Mounted on a router: the guard still sees the path as received.
    const admin = express.Router();
    admin.get('/', guard.authenticate, guard.requireRoles('admin'), answer);
    app.use('/admin', admin);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    send = (method, path, headers) => fetchFrom(base, method, path, headers);
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await idp.close();
  });

  guardCases(
    'Express',
    () => idp,
    () => send,
  );
});
