import type { AddressInfo } from 'node:net';
import type { Authz } from '@gatehouse/authz';
import type { Logger, Sql } from '@gatehouse/core';
import type { PermissionClient } from '@gatehouse/sdk';
import type { PrincipalEnv } from '@gatehouse/sdk/hono';
import { serve } from '@hono/node-server';
import { Ajv, type JSONSchemaType } from 'ajv';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CallerGuard } from './caller.ts';
import { refuse } from './errors.ts';

/** What every PartsCoder service is given. */
export interface ServiceDeps {
  sql: Sql;
  logger: Logger;
  guard: CallerGuard;
  /** The `partscoder` permission store: the engine to write relationships, the sdk client to check. */
  permissions: { authz: Authz; storeId: string; client: PermissionClient };
}

export type ServiceApp = Hono<PrincipalEnv>;

export interface RunningService {
  name: string;
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024;
const ajv = new Ajv({ allErrors: false, strict: true });

/**
 * The frame every service shares: `/health` (the service and its database answer), a body size
 * limit, JSON 404s and a 500 that never shows internals.
 */
export function createServiceApp(name: string, deps: ServiceDeps): ServiceApp {
  const app = new Hono<PrincipalEnv>();
  app.get('/health', async (c) => {
    try {
      await deps.sql.ping();
      return c.json({ status: 'ok', service: name });
    } catch {
      return refuse(c, 'PC_UNAVAILABLE');
    }
  });
  app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => refuse(c, 'PC_BODY_TOO_LARGE') }));
  app.notFound((c) => refuse(c, 'PC_NOT_FOUND'));
  app.onError((err, c) => {
    deps.logger.error({ err, service: name, path: c.req.path }, 'request failed');
    return refuse(c, 'PC_INTERNAL');
  });
  return app;
}

/** A body validator: JSON Schema with `additionalProperties: false`, checked before any use. */
export function bodyValidator<T>(schema: JSONSchemaType<T>) {
  const validate = ajv.compile(schema);
  return async (c: Context): Promise<T | Response> => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return refuse(c, 'PC_BODY_INVALID', 'The body must be JSON');
    }
    if (!validate(body)) {
      const first = validate.errors?.[0];
      return refuse(
        c,
        'PC_BODY_INVALID',
        `${first?.instancePath || 'body'} ${first?.message ?? 'is not valid'}`,
      );
    }
    return body;
  };
}

const ID_SHAPE = /^[1-9][0-9]{0,15}$/;

/** A numeric id from the path, or undefined when it is not one. */
export function pathId(c: Context): number | undefined {
  const raw = c.req.param('id');
  return raw !== undefined && ID_SHAPE.test(raw) ? Number(raw) : undefined;
}

/** Serve an app on 127.0.0.1, port 0 unless given. */
export function listen(name: string, app: ServiceApp, port = 0): Promise<RunningService> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, (info: AddressInfo) => {
      server.off('error', reject);
      resolve({
        name,
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}
