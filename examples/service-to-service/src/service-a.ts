import type { Server } from 'node:http';
import type { Logger } from '@gatehouse/core';
import { isSdkError, type ServiceClient } from '@gatehouse/sdk';
import { s2sErrors } from './errors.ts';
import { SERVICE_B_AUDIENCE } from './identities.ts';
import { createServiceApp, toNodeServer } from './service-app.ts';

export interface ServiceAOptions {
  /** Service B's URL, called directly (service to service, not through the gateway). */
  serviceBUrl: string;
  /** Client-credentials tokens of Service A, cached until shortly before expiry. */
  tokens: Pick<ServiceClient, 'fetch'>;
  logger: Logger;
}

/**
 * Service A: `GET /s2s/call-b` calls Service B with Service A's own token (audience Service B).
 * The token comes from the sdk's cache; while the identity provider is down the cached token keeps
 * working until it expires, then the answer is 503 SDK_TOKEN_ENDPOINT_UNAVAILABLE, and the first call
 * after the identity provider returns gets a new token (the sdk retries with a short backoff).
 */
export function createServiceA(options: ServiceAOptions): Server {
  const { logger, tokens } = options;
  const app = createServiceApp(logger, 's2s-service-a');
  app.get('/s2s/call-b', async (c) => {
    let res: Response;
    try {
      res = await tokens.fetch(
        `${options.serviceBUrl}/hello`,
        { signal: AbortSignal.timeout(5000) },
        { audience: SERVICE_B_AUDIENCE },
      );
    } catch (err) {
      if (isSdkError(err)) throw err;
      throw s2sErrors.create('S2S_SERVICE_B_UNAVAILABLE', undefined, { cause: err });
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.status !== 200) {
      logger.warn({ status: res.status, error: body['error'] }, 'Service B refused the call');
      throw s2sErrors.create('S2S_SERVICE_B_REFUSED');
    }
    return c.json({ from: 's2s-service-a', serviceB: body }, 200, { 'cache-control': 'no-store' });
  });
  return toNodeServer(app);
}
