import { createServer, type Server } from 'node:http';
import type { Logger } from '@gatehouse/core';
import type { PrincipalEnv } from '@gatehouse/sdk/hono';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import { errorAnswer, s2sErrors } from './errors.ts';

/** A Hono app whose errors are `{ error, message }` with a stable code, logged without credentials. */
export function createServiceApp(logger: Logger, service: string): Hono<PrincipalEnv> {
  const app = new Hono<PrincipalEnv>();
  app.onError((err, c) => {
    const res = errorAnswer(err);
    const code = (err as { code?: unknown }).code;
    if (res.status >= 500) logger.warn({ code, method: c.req.method, path: c.req.path }, 'request failed');
    else logger.info({ code, status: res.status, method: c.req.method, path: c.req.path }, 'request refused');
    return res;
  });
  app.notFound(() => errorAnswer(s2sErrors.create('S2S_NOT_FOUND')));
  app.get('/health', (c) => c.json({ status: 'ok', service }, 200, { 'cache-control': 'no-store' }));
  return app;
}

export function toNodeServer(app: Hono<PrincipalEnv>): Server {
  return createServer(getRequestListener(app.fetch));
}
