/**
 * Interfaces between the gateway's request pipeline (pipeline/) and its upstream side
 * (upstream-pool.ts, rate-limit.ts, inflight-limit.ts). Both sides code against these types; change
 * them here first.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger, Registry } from '@gatehouse/core';
import type { RouteConfig } from './config-schema.ts';

// ---------------------------------------------------------------------------------------------
// Route configuration, as it comes out of the validated config (defaults filled in): derived from
// the schema in config-schema.ts, named here for the modules that read one part of it.

export type { RouteConfig };

export type LimitKey = NonNullable<RouteConfig['rateLimit']>['key'];

export type RoutePolicy = RouteConfig['policy'];

/**
 * A permission check: `object` may hold `{param}` taken from a path pattern. With `gateway.authz` it
 * is asked of the permission engine (store, subject templates, condition context); without, of the
 * decision endpoint (`gateway.decision.url`).
 */
export type PermissionRule = Extract<RoutePolicy, { permission: unknown }>['permission'];

/**
 * Probes of each replica (GET `path`; `expect`: success = a 2xx passes, answer = any answer below
 * 500). `expect` may be left out, meaning success: pools are also built outside the validated
 * configuration (`createUpstreamPool` is public), where no default was filled in.
 */
export type HealthCheckConfig = Omit<NonNullable<RouteConfig['healthCheck']>, 'expect'> & {
  expect?: NonNullable<RouteConfig['healthCheck']>['expect'];
};

/**
 * `failureThreshold` consecutive failures (connect error, 5xx, timeout) on a replica eject it for
 * `openMs`, then one trial request is let through (half-open).
 */
export type CircuitBreakerConfig = NonNullable<RouteConfig['circuitBreaker']>;

// ---------------------------------------------------------------------------------------------
// upstream-pool.ts (upstream engineer)

/** What the pipeline hands the pool for one request. */
export interface ForwardTarget {
  /** Normalized path (prefix already stripped) plus the original query string, e.g. "/a/b?x=1". */
  path: string;
  /**
   * The complete header set to send upstream: already sanitized (no hop-by-hop, no inbound identity
   * headers, no untrusted X-Forwarded-*), with identity, X-Request-Id, traceparent, X-Forwarded-* and
   * the original `host` set. Send exactly these; do not copy anything else from `req.headers`, and
   * never forward `req.trailers`.
   */
  headers: OutgoingHttpHeaders;
  /**
   * Headers to add to the answer sent to the client (X-Request-Id), unless the upstream's answer
   * has a header of that name. Passed here rather than set on `res` beforehand: a `res` without
   * headers of its own lets `writeHead` take node:http's fast path.
   */
  responseHeaders?: Readonly<Record<string, string>>;
}

export interface UpstreamStatus {
  url: string;
  healthy: boolean;
  ejected: boolean;
  outstanding: number;
}

export interface UpstreamPool {
  /**
   * Proxy `req` (its body streamed from `req`) to one replica and stream the answer into `res`.
   * Resolves when `res` is finished. When nothing has been written to `res` yet and the request
   * cannot be served, rejects with a `gatewayErrors` error (GW_UPSTREAM_UNAVAILABLE 503,
   * GW_BAD_GATEWAY 502, GW_UPSTREAM_TIMEOUT 504, GW_CIRCUIT_OPEN 503); the pipeline answers it with
   * `sendError`. If the answer had already started, destroy `res` and resolve.
   */
  forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget): Promise<void>;
  close(): Promise<void>;
  status(): UpstreamStatus[];
}

export interface UpstreamPoolDeps {
  logger: Logger;
  /** The gateway's registry: register upstream metrics here (names prefixed `gatehouse_gateway_upstream_`). */
  metrics: Registry;
}

export type CreateUpstreamPool = (
  route: Pick<RouteConfig, 'id' | 'upstreams' | 'balance' | 'timeoutMs' | 'retries' | 'circuitBreaker'> & {
    healthCheck?: HealthCheckConfig | undefined;
  },
  deps: UpstreamPoolDeps,
) => UpstreamPool;

// ---------------------------------------------------------------------------------------------
// rate-limit.ts, inflight-limit.ts (upstream engineer), on `SharedState` from @gatehouse/core

/** A route's rate limit: `average` requests per `period` ("1s", "1m", "1h" or ms), bucket of `burst`. */
export type RateLimitConfig = Omit<NonNullable<RouteConfig['rateLimit']>, 'key'>;

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until one token is available (0 when allowed). */
  retryAfterSec: number;
  /** Whole seconds until the bucket is full again. */
  resetSec: number;
}

export interface RateLimiter {
  take(key: string): Promise<RateLimitResult>;
}
// The pipeline (access-check.ts) uses from rate-limit.ts: `createRateLimiter(state, { average, period,
// burst, scope })` → `{ policy, take }` and `rateLimitHeaders(limiter, result)`, and adds `Retry-After`
// itself; from inflight-limit.ts: `createInflightLimiter(state, { max, scope, ttlMs })`. Limit keys
// come from limit-key.ts (`ip:…`, `sub:…`, `client:…`, `h:<name>:…`). Keep these signatures.

export type InflightLimitConfig = Omit<NonNullable<RouteConfig['inflight']>, 'key'>;

export interface InflightLimiter {
  /** True when a slot was taken; the caller must `release(key)` when the response finishes. */
  acquire(key: string): Promise<boolean>;
  release(key: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Who the caller is, after authentication: the sdk verifier's principal (one verifier, one set of rules).

export type { Principal } from '@gatehouse/sdk';

// ---------------------------------------------------------------------------------------------
// Shared fast state (docs/contracts.md).

export type { SharedState } from '@gatehouse/core';
