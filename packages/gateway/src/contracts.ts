/**
 * Interfaces between the gateway's request pipeline (pipeline/) and its upstream side
 * (upstream-pool.ts, rate-limit.ts, inflight-limit.ts). Both sides code against these types; change
 * them here first.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger, Registry } from '@gatehouse/core';
import type { CorsConfig } from './routing/cors.ts';

// ---------------------------------------------------------------------------------------------
// Route configuration, as it comes out of the validated config (defaults filled in).

export type LimitKey = 'ip' | 'user' | 'client' | { header: string };

export type RoutePolicy =
  | 'public'
  | 'authenticated'
  | 'internal'
  | { roles: string[] }
  | { scopes: string[] }
  | { permission: PermissionRule };

/**
 * A permission check: `object` may hold `{param}` taken from a path pattern. With `gateway.authz` it
 * is asked of the permission engine (store, subject templates, condition context); without, of the
 * decision endpoint (`gateway.decision.url`).
 */
export interface PermissionRule {
  relation: string;
  object: string;
  store?: string;
  subject?: { user?: string; service?: string };
  /** Condition parameter → `request.time`, `request.ip`, `request.method` or `token.<claim>`. */
  context?: Record<string, string>;
}

export interface HealthCheckConfig {
  /** Path probed on each replica (GET; see `expect`). */
  path: string;
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failed probes before a replica is taken out. */
  unhealthyThreshold: number;
  /** Consecutive good probes before it is put back. */
  healthyThreshold: number;
  /** success: a 2xx passes; answer: any answer below 500 passes. Default success. */
  expect?: 'success' | 'answer';
}

export interface CircuitBreakerConfig {
  /** Consecutive failures (connect error, 5xx, timeout) on a replica before it is ejected. */
  failureThreshold: number;
  /** How long an ejected replica stays out before one trial request (half-open). */
  openMs: number;
}

export interface RouteConfig {
  id: string;
  match: {
    host?: string;
    methods?: string[];
    /** Path prefix, matched on segment boundaries ("/products" matches "/products/1", not "/productsx"). */
    path?: string;
    /** Alternative to `path`: "/products/{id}/buy"; `{name}` matches one segment, a trailing `*` the rest. */
    pattern?: string;
  };
  upstreams: string[];
  /** Strip the matched `match.path` prefix before forwarding. */
  stripPrefix: boolean;
  timeoutMs: number;
  retries: number;
  balance: 'round-robin' | 'least-outstanding';
  forwardToken: boolean;
  /** A page for people: a browser without credentials is sent to sign in, then back (browser-login.ts). */
  browser?: boolean;
  /** Send a signed `X-Gatehouse-Assertion`; `true` means audience = route id. */
  assertion?: boolean | { audience: string };
  policy: RoutePolicy;
  /** Browser apps on other origins (cors.ts). */
  cors?: CorsConfig;
  /** RFC 9470 step-up: the acr values and sign-in age the route needs (step-up.ts). */
  stepUp?: { acr?: string[]; maxAge?: number };
  rateLimit?: RateLimitConfig & { key: LimitKey };
  inflight?: InflightLimitConfig & { key: LimitKey };
  healthCheck?: HealthCheckConfig;
  circuitBreaker?: CircuitBreakerConfig;
  /** TLS to https upstreams (files read by `upstreamTlsOptions` in tls.ts). */
  tls?: { caFile?: string; certFile?: string; keyFile?: string; servername?: string };
}

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
  route: Pick<
    RouteConfig,
    'id' | 'upstreams' | 'balance' | 'timeoutMs' | 'retries' | 'healthCheck' | 'circuitBreaker'
  >,
  deps: UpstreamPoolDeps,
) => UpstreamPool;

// ---------------------------------------------------------------------------------------------
// rate-limit.ts, inflight-limit.ts (upstream engineer), on `SharedState` from @gatehouse/core

export interface RateLimitConfig {
  /** Requests allowed per `period` on average. */
  average: number;
  /** "1s", "1m", "1h" or milliseconds. */
  period: string | number;
  /** Bucket capacity. */
  burst: number;
}

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

export interface InflightLimitConfig {
  max: number;
}

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
