import type { Server } from 'node:http';
import type { Logger } from '@gatehouse/core';
import type { Verifier } from '@gatehouse/sdk';
import { createHonoGuard, type PrincipalEnv } from '@gatehouse/sdk/hono';
import type { MiddlewareHandler } from 'hono';
import { s2sErrors } from './errors.ts';
import { SERVICE_B_CALLERS } from './identities.ts';
import { createServiceApp, toNodeServer } from './service-app.ts';

export interface ServiceBOptions {
  /** Audience SERVICE_B_AUDIENCE only; keys from the JWKS, cached: no call to the identity provider per request. */
  verifier: Verifier;
  logger: Logger;
}

/** A service token of one of the services allowed to call B (not a person, not any other service). */
const requireAllowedService: MiddlewareHandler<PrincipalEnv> = async (c, next) => {
  const p = c.get('principal');
  if (p.kind !== 'service' || !SERVICE_B_CALLERS.includes(p.clientId)) {
    throw s2sErrors.create('S2S_CALLER_NOT_ALLOWED');
  }
  await next();
};

/**
 * Service B: `GET /hello` for its allowed callers, verified locally with the sdk's Hono guard
 * (signature, issuer, audience, expiry), then `GET /health`.
 */
export function createServiceB(options: ServiceBOptions): Server {
  const app = createServiceApp(options.logger, 's2s-service-b');
  const guard = createHonoGuard({ verifier: options.verifier, logger: options.logger });
  let calls = 0;
  app.get('/hello', guard.authenticate, requireAllowedService, (c) => {
    const p = c.get('principal');
    calls++;
    return c.json(
      {
        message: 'Hello from Service B',
        caller: p.clientId,
        // The caller's token lifetime, so the demo can show it running out.
        tokenExpiresAt: new Date(p.expiresAt * 1000).toISOString(),
        calls,
      },
      200,
      { 'cache-control': 'no-store' },
    );
  });
  return toNodeServer(app);
}
