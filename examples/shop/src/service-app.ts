import { createServer, type Server } from 'node:http';
import type { Logger } from '@gatehouse/core';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { CallerEnv } from '../../shared/src/hono-caller.ts';
import { errorAnswer, shopErrors } from './errors.ts';

/**
 * A Hono app with the shop's error handling: every refusal is `{ error, message }` with a stable code
 * and logged with that code (never with the credential); anything unexpected is a logged 500.
 * `servedBy` names the replica in an `X-Shop-Replica` response header.
 */
export function createServiceApp(logger: Logger, servedBy?: string): Hono<CallerEnv> {
  const app = new Hono<CallerEnv>();
  if (servedBy !== undefined) {
    // Development only: lets a reader (and the replica test) see the gateway spread requests.
    app.use(async (c, next) => {
      await next();
      c.res.headers.set('x-shop-replica', servedBy);
    });
  }
  app.onError((err, c) => {
    const res = errorAnswer(err);
    const code = (err as { code?: unknown }).code;
    if (res.status >= 500) logger.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    else logger.info({ code, status: res.status, method: c.req.method, path: c.req.path }, 'request refused');
    return res;
  });
  app.notFound(() => errorAnswer(shopErrors.create('SHOP_NOT_FOUND')));
  return app;
}

/** The app as a `node:http` server (listen with listen.ts). */
export function toNodeServer(app: Hono<CallerEnv>): Server {
  return createServer(getRequestListener(app.fetch));
}
