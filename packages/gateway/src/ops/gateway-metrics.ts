import { Counter, Histogram, type Registry } from '@gatehouse/core';

const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The request pipeline's Prometheus metrics. Label values are bounded: route ids come from config. */
export interface GatewayMetrics {
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  authFailure(reason: string): void;
  limitRejected(route: string, limit: 'rate' | 'inflight'): void;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const requests = new Counter({
    name: 'gatehouse_gateway_requests_total',
    help: 'Requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  // One label object per route, method and status: built once, not per request.
  const requestLabels = new Map<string, Map<number, Record<'route' | 'method' | 'status', string>>>();
  const duration = new Histogram({
    name: 'gatehouse_gateway_request_duration_seconds',
    help: 'Time from request to response end, by route',
    labelNames: ['route'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const routeLabels = new Map<string, Record<'route', string>>();
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
      let byMethodStatus = requestLabels.get(route);
      if (byMethodStatus === undefined) {
        byMethodStatus = new Map();
        requestLabels.set(route, byMethodStatus);
      }
      // Methods outside the list count as OTHER, so the key space stays bounded.
      const m = KNOWN_METHODS.indexOf(method);
      const key = (m + 1) * 1000 + status;
      let labels = byMethodStatus.get(key);
      if (labels === undefined) {
        labels = { route, method: m === -1 ? 'OTHER' : method, status: String(status) };
        byMethodStatus.set(key, labels);
      }
      requests.inc(labels);
      let forRoute = routeLabels.get(route);
      if (forRoute === undefined) {
        forRoute = { route };
        routeLabels.set(route, forRoute);
      }
      duration.observe(forRoute, seconds);
    },
    authFailure(reason) {
      authFailures.inc({ reason });
    },
    limitRejected(route, limit) {
      limits.inc({ route, limit });
    },
  };
}
