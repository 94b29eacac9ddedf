import type { ServerResponse } from 'node:http';
import { type SharedState, sendError } from '@gatehouse/core';
import type { RateLimitConfig, RateLimiter, RateLimitResult } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';

/**
 * Token-bucket rate limit on the shared state: `burst` tokens at most, refilled at `average` per
 * `period`. With the memory state each process counts alone; with the Redis state every replica
 * draws from the same bucket, atomically (the Lua script in core), so N replicas still let exactly
 * `burst` requests through a burst, not N × `burst`.
 *
 * A state failure (Redis down) rejects `take`; the caller answers it (503 GH_STATE_UNAVAILABLE) —
 * a limit that silently stops counting is no limit.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1s", "20m", "1h", "500ms", "1d", or a number of milliseconds. */
export function parsePeriodMs(period: string | number): number {
  if (typeof period === 'number') {
    if (!(Number.isFinite(period) && period > 0))
      throw gatewayErrors.create('GW_CONFIG_INVALID', `rate limit period ${period} must be > 0 ms`);
    return period;
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(period.trim());
  if (!match)
    throw gatewayErrors.create(
      'GW_CONFIG_INVALID',
      `rate limit period "${period}" is not like 1s, 1m, 1h, 500ms`,
    );
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  if (!(ms > 0)) throw gatewayErrors.create('GW_CONFIG_INVALID', `rate limit period "${period}" must be > 0`);
  return ms;
}

/** A result that also carries its `RateLimit-Policy` value, so headers can be built from it alone. */
export interface PolicyRateLimitResult extends RateLimitResult {
  policy: string;
}

export interface RateLimiterHandle extends RateLimiter {
  take(key: string): Promise<PolicyRateLimitResult>;
  /** `RateLimit-Policy` value for this limiter (draft-ietf-httpapi-ratelimit-headers). */
  readonly policy: string;
}

export interface RateLimiterOptions extends RateLimitConfig {
  /** Namespace of the buckets, e.g. the route id, so two routes never share a bucket by accident. */
  scope?: string;
}

export function createRateLimiter(state: SharedState, config: RateLimiterOptions): RateLimiterHandle {
  if (!(Number.isFinite(config.average) && config.average > 0))
    throw gatewayErrors.create('GW_CONFIG_INVALID', 'rate limit average must be > 0');
  if (!(Number.isInteger(config.burst) && config.burst > 0))
    throw gatewayErrors.create('GW_CONFIG_INVALID', 'rate limit burst must be an integer > 0');
  const periodMs = parsePeriodMs(config.period);
  const bucket = { capacity: config.burst, refillPerSecond: (config.average * 1000) / periodMs };
  const prefix = `ratelimit:${config.scope ?? 'default'}:`;
  // The window a client is told about: how long an empty bucket takes to fill to `burst` again,
  // so `q` (the burst) over `w` is the sustained rate and `r` never exceeds `q`.
  const windowSec = Math.max(1, Math.ceil(config.burst / bucket.refillPerSecond));
  const policy = `default;q=${config.burst};w=${windowSec}`;

  return {
    policy,
    async take(key: string): Promise<PolicyRateLimitResult> {
      const r = await state.takeToken(prefix + key, bucket);
      return {
        allowed: r.allowed,
        limit: config.burst,
        remaining: r.remaining,
        retryAfterSec: r.allowed ? 0 : Math.max(1, Math.ceil(r.retryAfterMs / 1000)),
        resetSec: Math.ceil(r.resetMs / 1000),
        policy,
      };
    },
  };
}

/**
 * The draft-ietf-httpapi-ratelimit-headers fields for one result: `RateLimit-Policy: default;q=40;w=120`
 * and `RateLimit: default;r=<remaining>;t=<seconds until full>`. Set them on allowed answers too.
 */
export function rateLimitHeaders(
  limiter: Pick<RateLimiterHandle, 'policy'>,
  result: RateLimitResult,
): Record<string, string> {
  return {
    'ratelimit-policy': limiter.policy,
    ratelimit: `default;r=${result.remaining};t=${result.resetSec}`,
  };
}

/** Answer 429 GW_RATE_LIMITED with `Retry-After` (RFC 9110 §10.2.3, which clients honour first) and the RateLimit headers. */
export function sendRateLimited(
  res: ServerResponse,
  limiter: Pick<RateLimiterHandle, 'policy'>,
  result: RateLimitResult,
): void {
  const headers = {
    ...rateLimitHeaders(limiter, result),
    'retry-after': String(Math.max(1, result.retryAfterSec)),
  };
  sendError(res, gatewayErrors.create('GW_RATE_LIMITED', undefined, { headers }));
}
