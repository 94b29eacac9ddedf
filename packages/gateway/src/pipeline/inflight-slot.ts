import type { ServerResponse } from 'node:http';
import type { RouteConfig } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import { limitKeyFor } from '../limits/limit-key.ts';
import type { Exchange } from './exchange.ts';
import type { GatewayContext } from './gateway-context.ts';

/**
 * Takes one of the route's in-flight slots for this request's key, held until its connection
 * closes; throws GW_TOO_MANY_INFLIGHT when none is free. A route without an in-flight limit passes.
 */
export async function acquireInflightSlot(
  gw: GatewayContext,
  ex: Exchange,
  res: ServerResponse,
  route: RouteConfig,
): Promise<void> {
  const inflight = ex.t.limits.get(route.id)?.inflight;
  if (!inflight || !route.inflight) return;
  const key = limitKeyFor(route.inflight.key, {
    clientAddress: ex.clientAddress,
    principal: ex.principal,
    headers: ex.req.headers,
  });
  if (!(await inflight.acquire(key))) {
    // A slot frees as soon as any request of this key ends.
    throw gatewayErrors.create('GW_TOO_MANY_INFLIGHT', undefined, { headers: { 'retry-after': '1' } });
  }
  res.once('close', () => {
    inflight.release(key).catch((err: unknown) => gw.logger.warn({ err }, 'in-flight slot release failed'));
  });
}
