import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from '@gatehouse/core';
import { Client, Pool } from 'undici';
import type {
  ForwardTarget,
  HealthCheckConfig,
  RouteConfig,
  UpstreamPool,
  UpstreamPoolDeps,
  UpstreamStatus,
} from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import type { UpstreamTlsOptions } from '../ops/tls.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { createHealthChecker, type HealthChecker, type Probed } from './health-checker.ts';
import { createLoadBalancer } from './load-balancer.ts';
import { type AttemptOutcome, proxyAttempt, requestHasBody } from './proxy.ts';

/**
 * Methods retried on another replica by default after the request was written: idempotent ones
 * (RFC 9110 §9.2.2), never POST or PATCH. A request that never reached a replica is retried whatever its method.
 */
const IDEMPOTENT_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'];

const GATEWAY_FAILURES = new Set([502, 503, 504]);

/** Passive ejection when the route configures no breaker: 5 failures in a row, out for 10 s. */
const DEFAULT_EJECTION = { failureThreshold: 5, openMs: 10_000 };

export type UpstreamPoolRoute = Pick<
  RouteConfig,
  'id' | 'upstreams' | 'balance' | 'timeoutMs' | 'retries' | 'circuitBreaker'
> & {
  /** A route's health check; `expect` may be left out here (pools are built outside the configuration too). */
  healthCheck?: HealthCheckConfig | undefined;
  /** Methods that may be retried; default IDEMPOTENT_METHODS. */
  retryMethods?: readonly string[];
  /** TLS to https upstreams (CA, client certificate for mTLS): see `upstreamTlsOptions`. */
  tls?: UpstreamTlsOptions;
  /** Most connections kept to one replica (default 128). */
  connections?: number;
};

export interface UpstreamReplicaStatus extends UpstreamStatus {
  /** Epoch ms until which a passively ejected replica stays out (when not waiting on health checks). */
  ejectedUntil?: number;
}

export interface UpstreamPoolHandle extends UpstreamPool {
  status(): UpstreamReplicaStatus[];
  /** Run one round of active health checks now (no-op without `healthCheck`). */
  checkHealth(): Promise<void>;
}

interface Replica extends Probed {
  readonly url: string;
  readonly dispatcher: Pool;
  readonly probe: Client;
  /** Path prefix of the replica URL ("" or "/base"), put in front of every forwarded path. */
  readonly basePath: string;
  readonly breaker: CircuitBreaker;
  outstanding: number;
  healthy: boolean;
  okStreak: number;
  failStreak: number;
  /** The label set of each result of this replica's attempts, built once. */
  readonly results: Map<Result, Record<AttemptLabel, string>>;
}

type AttemptLabel = 'route' | 'upstream' | 'result';

type Result =
  | 'ok'
  | 'error_status'
  | 'unavailable'
  | 'timeout'
  | 'bad_gateway'
  | 'bad_request'
  | 'client_gone';

const RESULT_OF: Record<string, Result> = {
  GW_UPSTREAM_UNAVAILABLE: 'unavailable',
  GW_UPSTREAM_TIMEOUT: 'timeout',
  GW_BAD_GATEWAY: 'bad_gateway',
};

/**
 * The replicas of one route: picks one per attempt, proxies, retries on another replica a request
 * that never reached one (any method) or an idempotent one that failed before any response byte, ejects replicas that keep failing, and
 * trips a route-wide breaker when the service as a whole fails.
 */
export function createUpstreamPool(route: UpstreamPoolRoute, deps: UpstreamPoolDeps): UpstreamPoolHandle {
  if (route.upstreams.length === 0)
    throw gatewayErrors.create('GW_CONFIG_INVALID', `route ${route.id}: no upstreams`);
  const logger = deps.logger.child({ route: route.id });
  const metrics = upstreamMetrics(deps.metrics);
  const hasHealthCheck = route.healthCheck !== undefined;
  const ejection = route.circuitBreaker ?? DEFAULT_EJECTION;
  const retryMethods = new Set(route.retryMethods ?? IDEMPOTENT_METHODS);

  const replicas: Replica[] = route.upstreams.map((raw) => {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw gatewayErrors.create(
        'GW_CONFIG_INVALID',
        `route ${route.id}: upstream ${raw} is not http or https`,
      );
    }
    if (url.username || url.password || url.search || url.hash) {
      throw gatewayErrors.create(
        'GW_CONFIG_INVALID',
        `route ${route.id}: upstream ${raw} must be an origin with an optional path`,
      );
    }
    const name = url.origin + (url.pathname === '/' ? '' : url.pathname);
    const connect = route.tls && url.protocol === 'https:' ? { connect: { ...route.tls } } : {};
    const replica: Replica = {
      url: name,
      basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
      dispatcher: new Pool(url.origin, { connections: route.connections ?? 128, ...connect }),
      probe: new Client(url.origin, connect),
      breaker: new CircuitBreaker({
        failureThreshold: ejection.failureThreshold,
        openMs: ejection.openMs,
        onStateChange: (state) => {
          if (state === 'open') {
            // Re-admission by active checks needs fresh passes counted from now.
            replica.okStreak = 0;
            metrics.ejections.inc({ route: route.id, upstream: name });
            logger.warn({ upstream: name }, 'upstream replica ejected after consecutive failures');
          } else if (state === 'closed') {
            logger.info({ upstream: name }, 'upstream replica re-admitted');
          }
          setAvailableGauge(replica);
        },
      }),
      outstanding: 0,
      healthy: true,
      okStreak: 0,
      failStreak: 0,
      results: new Map(),
    };
    return replica;
  });

  const isAvailable = (r: Replica): boolean =>
    r.healthy && (hasHealthCheck ? r.breaker.state === 'closed' : r.breaker.canPass());

  function setAvailableGauge(r: Replica): void {
    metrics.available.set({ route: route.id, upstream: r.url }, isAvailable(r) ? 1 : 0);
  }
  for (const r of replicas) setAvailableGauge(r);

  const balancer = createLoadBalancer(route.balance, replicas);
  const routeBreaker = route.circuitBreaker
    ? new CircuitBreaker({
        failureThreshold: route.circuitBreaker.failureThreshold,
        openMs: route.circuitBreaker.openMs,
        onStateChange: (state) => logger.warn({ state }, 'route circuit breaker changed state'),
      })
    : undefined;

  let checker: HealthChecker | undefined;
  if (route.healthCheck) {
    checker = createHealthChecker(replicas, route.healthCheck, (replica, ok, changed) => {
      if (changed)
        logger.warn({ upstream: replica.url, healthy: replica.healthy }, 'upstream health changed');
      // An ejected replica comes back only when the active checks pass again.
      if (
        ok &&
        replica.breaker.state !== 'closed' &&
        replica.okStreak >= route.healthCheck!.healthyThreshold
      ) {
        replica.breaker.reset();
      }
      if (changed) setAvailableGauge(replica);
    });
  }

  const count = (r: Replica, result: Result): void => {
    let labels = r.results.get(result);
    if (!labels) {
      labels = { route: route.id, upstream: r.url, result };
      r.results.set(result, labels);
    }
    metrics.requests.inc(labels);
  };

  const replicaFailed = (r: Replica): void => {
    r.breaker.failure();
    setAvailableGauge(r);
  };

  async function forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget): Promise<void> {
    if (routeBreaker && !routeBreaker.tryPass()) {
      const until = routeBreaker.openUntil;
      const retryAfter = until === undefined ? 1 : Math.max(1, Math.ceil((until - Date.now()) / 1000));
      throw gatewayErrors.create('GW_CIRCUIT_OPEN', undefined, {
        headers: { 'retry-after': String(retryAfter) },
      });
    }
    const method = req.method ?? 'GET';
    // Any method may go to another replica when the request never reached one; only the retry
    // methods may once it was written, since the replica may have acted on it.
    const retryWritten = retryMethods.has(method);
    const maxAttempts = 1 + Math.max(0, route.retries);
    const streamBody = requestHasBody(req);
    let tried: Set<Replica> | undefined;
    let failed: Extract<AttemptOutcome, { kind: 'failed' }> | undefined;

    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      // A retry with no available replica left tries one marked down: health checks lag a replica
      // that just came back (a rolling restart stops its sibling right after), and a replica that
      // is really down refuses at once, which costs nothing but this attempt.
      const replica =
        balancer.pick(isAvailable, tried) ?? (tried ? balancer.pick(() => true, tried) : undefined);
      if (!replica) break;
      // Without active checks an ejected replica gets one trial request once its time is up.
      if (!hasHealthCheck && !replica.breaker.tryPass()) break;
      if (attempt > 0) metrics.retries.inc({ route: route.id });
      replica.outstanding++;
      const outcome = await proxyAttempt(replica.dispatcher, req, res, {
        path: replica.basePath + target.path,
        headers: target.headers,
        responseHeaders: target.responseHeaders,
        timeoutMs: route.timeoutMs,
        streamBody,
      });
      replica.outstanding--;

      if (outcome.kind === 'response') {
        // Only "cannot serve" answers (502/503/504) or a cut answer count against the replica: a 500 is
        // one request's application error, and a client able to provoke 500s must not eject replicas.
        const unavailable = GATEWAY_FAILURES.has(outcome.status) || outcome.broken;
        count(replica, unavailable ? 'error_status' : 'ok');
        if (unavailable) {
          replicaFailed(replica);
          routeBreaker?.failure();
        } else {
          replica.breaker.success();
          routeBreaker?.success();
        }
        return;
      }
      if (outcome.kind === 'client-gone') {
        count(replica, 'client_gone');
        replica.breaker.abandon();
        routeBreaker?.abandon();
        return;
      }
      failed = outcome;
      if (outcome.code === 'GW_BAD_REQUEST') {
        // The client's request was unusable: no verdict on the replica or the route.
        count(replica, 'bad_request');
        replica.breaker.abandon();
        routeBreaker?.abandon();
        throw gatewayErrors.create('GW_BAD_REQUEST', undefined, { cause: outcome.cause });
      }
      count(replica, RESULT_OF[outcome.code]!);
      replicaFailed(replica);
      logger.warn(
        { upstream: replica.url, code: outcome.code, cause: outcome.cause.message, attempt },
        'upstream attempt failed',
      );
      // A timeout already spent the route's time budget; a body already streamed cannot be re-sent.
      if (outcome.code === 'GW_UPSTREAM_TIMEOUT' || outcome.bodySent || res.headersSent) break;
      if (outcome.written && !retryWritten) break;
      tried ??= new Set();
      tried.add(replica);
    }

    routeBreaker?.failure();
    if (failed) throw gatewayErrors.create(failed.code, undefined, { cause: failed.cause });
    throw gatewayErrors.create('GW_NO_HEALTHY_UPSTREAM');
  }

  return {
    forward,
    status() {
      return replicas.map((r) => {
        const open = r.breaker.state !== 'closed';
        const s: UpstreamReplicaStatus = {
          url: r.url,
          healthy: r.healthy,
          ejected: open,
          outstanding: r.outstanding,
        };
        const until = r.breaker.openUntil;
        if (open && until !== undefined && !hasHealthCheck) s.ejectedUntil = until;
        return s;
      });
    },
    async checkHealth() {
      await checker?.checkNow();
    },
    async close() {
      checker?.stop();
      await Promise.all(
        replicas.map(async (r) => {
          // Let in-flight requests finish, but do not hang shutdown on a stuck upstream.
          const timer = setTimeout(() => void r.dispatcher.destroy(), 5000);
          timer.unref();
          await r.dispatcher.close().catch(() => r.dispatcher.destroy());
          await r.probe.destroy();
          clearTimeout(timer);
        }),
      );
    },
  };
}

interface UpstreamMetrics {
  /** Attempts by result. */
  requests: Counter<AttemptLabel>;
  retries: Counter<'route'>;
  ejections: Counter<'route' | 'upstream'>;
  available: Gauge<'route' | 'upstream'>;
}

/** One set of metrics per registry, shared by every route's pool (pools come and go on reload). */
function upstreamMetrics(registry: Registry): UpstreamMetrics {
  const get = <M>(name: string, make: () => M): M =>
    (registry.getSingleMetric(name) as M | undefined) ?? make();
  return {
    requests: get(
      'gatehouse_gateway_upstream_requests_total',
      () =>
        new Counter({
          name: 'gatehouse_gateway_upstream_requests_total',
          help: 'Attempts sent to upstream replicas, by result',
          labelNames: ['route', 'upstream', 'result'],
          registers: [registry],
        }),
    ),
    retries: get(
      'gatehouse_gateway_upstream_retries_total',
      () =>
        new Counter({
          name: 'gatehouse_gateway_upstream_retries_total',
          help: 'Requests retried on another replica',
          labelNames: ['route'],
          registers: [registry],
        }),
    ),
    ejections: get(
      'gatehouse_gateway_upstream_ejections_total',
      () =>
        new Counter({
          name: 'gatehouse_gateway_upstream_ejections_total',
          help: 'Replicas taken out of rotation after consecutive failures',
          labelNames: ['route', 'upstream'],
          registers: [registry],
        }),
    ),
    available: get(
      'gatehouse_gateway_upstream_available',
      () =>
        new Gauge({
          name: 'gatehouse_gateway_upstream_available',
          help: '1 when the replica takes traffic (healthy and not ejected)',
          labelNames: ['route', 'upstream'],
          registers: [registry],
        }),
    ),
  };
}
