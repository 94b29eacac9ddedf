import type { ServerResponse } from 'node:http';
import { type SharedState, sendError } from '@gatehouse/core';
import type { InflightLimitConfig, InflightLimiter } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';

/**
 * At most `max` requests in flight per key. Slots live in the shared state with a TTL, so a replica
 * that dies holding slots frees them when the TTL runs out instead of locking the key forever.
 * `ttlMs` must exceed the longest request the route allows (default 60 s).
 */
export interface InflightLimiterOptions extends InflightLimitConfig {
  ttlMs?: number;
  /** Namespace of the counters, e.g. the route id. */
  scope?: string;
}

export function createInflightLimiter(state: SharedState, config: InflightLimiterOptions): InflightLimiter {
  if (!(Number.isInteger(config.max) && config.max > 0))
    throw gatewayErrors.create('GW_CONFIG_INVALID', 'inflight max must be an integer > 0');
  const ttlMs = config.ttlMs ?? 60_000;
  const prefix = `inflight:${config.scope ?? 'default'}:`;
  return {
    acquire: (key) => state.acquireSlot(prefix + key, config.max, ttlMs),
    release: (key) => state.releaseSlot(prefix + key),
  };
}

/**
 * Release the slot once the exchange is over — finished or cut — exactly once. A failed release is
 * reported to `onError` (the TTL frees the slot later).
 */
export function releaseWhenDone(
  res: ServerResponse,
  limiter: InflightLimiter,
  key: string,
  onError: (err: unknown) => void = () => {},
): void {
  res.once('close', () => {
    limiter.release(key).catch(onError);
  });
}

/** Answer 429 GW_TOO_MANY_INFLIGHT; `Retry-After: 1` since a slot frees when any request ends. */
export function sendTooManyInflight(res: ServerResponse): void {
  sendError(
    res,
    gatewayErrors.create('GW_TOO_MANY_INFLIGHT', undefined, { headers: { 'retry-after': '1' } }),
  );
}
