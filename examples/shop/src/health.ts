import type { Hono } from 'hono';
import type { CallerEnv } from '../../shared/src/hono-caller.ts';
import { errorAnswer, shopErrors } from './errors.ts';

export interface HealthOptions {
  service: string;
  mode: 'development' | 'production';
  logger: { info(fields: Record<string, unknown>, message: string): void };
  /**
   * True once shutdown has begun: `/health` then answers 503 SHOP_DRAINING, so the gateway stops
   * sending new requests here while those already on their way are still answered.
   */
  draining?: () => boolean;
}

/**
 * `GET /health` (liveness and readiness, probed by the gateway) and, in development only, `POST /fail`, which
 * flips this replica between healthy and failing so a reader can watch the gateway take it out of
 * rotation and put it back. In production `/fail` does not exist (404).
 */
export function mountHealth(app: Hono<CallerEnv>, options: HealthOptions): void {
  let failing = false;
  app.get('/health', (c) => {
    if (options.draining?.()) return errorAnswer(shopErrors.create('SHOP_DRAINING'));
    if (failing) return errorAnswer(shopErrors.create('SHOP_UNHEALTHY'));
    return c.json({ status: 'ok', service: options.service }, 200, { 'cache-control': 'no-store' });
  });
  app.post('/fail', (c) => {
    if (options.mode !== 'development') throw shopErrors.create('SHOP_NOT_FOUND');
    failing = !failing;
    options.logger.info({ failing }, failing ? '/fail: health now fails' : '/fail: health restored');
    return c.json({ service: options.service, failing }, 200, { 'cache-control': 'no-store' });
  });
}
