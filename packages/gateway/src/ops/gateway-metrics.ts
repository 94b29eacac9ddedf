import { Counter, type Registry } from '@gatehouse/core';
import { type DeferredCount, deferredCounter, routeHistogram } from './prom-client-shortcuts.ts';

const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The request pipeline's Prometheus metrics. Label values are bounded: route ids come from config. */
export interface GatewayMetrics {
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  authFailure(reason: string): void;
  limitRejected(route: string, limit: 'rate' | 'inflight'): void;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  // Requests are counted here and handed to prom-client when the counter is read
  // (prom-client-shortcuts.ts): per request two Map lookups and an increment.
  const requests = deferredCounter(registry, {
    name: 'gatehouse_gateway_requests_total',
    help: 'Requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
  });
  const pending = new Map<string, Map<number, DeferredCount<'route' | 'method' | 'status'>>>();
  const duration = routeHistogram(registry, {
    name: 'gatehouse_gateway_request_duration_seconds',
    help: 'Time from request to response end, by route',
    buckets: DURATION_BUCKETS,
  });
  const authFailures = new Counter({
    name: 'gatehouse_gateway_auth_failures_total',
    help: 'Requests refused by authentication or authorization, by error code',
    labelNames: ['reason'],
    registers: [registry],
  });
  const limits = new Counter({
    name: 'gatehouse_gateway_limit_rejections_total',
    help: 'Requests refused with 429, by route and limit',
    labelNames: ['route', 'limit'],
    registers: [registry],
  });
  return {
    observeRequest(route, method, status, seconds) {
      let byMethodStatus = pending.get(route);
      if (byMethodStatus === undefined) {
        byMethodStatus = new Map();
        pending.set(route, byMethodStatus);
      }
      // Methods outside the list count as OTHER, so the key space stays bounded.
      const m = KNOWN_METHODS.indexOf(method);
      const key = (m + 1) * 1000 + status;
      let p = byMethodStatus.get(key);
      if (p === undefined) {
        p = requests.track({ route, method: m === -1 ? 'OTHER' : method, status: String(status) });
        byMethodStatus.set(key, p);
      }
      p.count++;
      duration.observe(route, seconds);
    },
    authFailure(reason) {
      authFailures.inc({ reason });
    },
    limitRejected(route, limit) {
      limits.inc({ route, limit });
    },
  };
}
