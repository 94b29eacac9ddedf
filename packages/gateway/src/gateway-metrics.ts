import { Counter, Histogram, type Registry } from '@gatehouse/core';

const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The request pipeline's Prometheus metrics. Label values are bounded: route ids come from config. */
export interface GatewayMetrics {
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  authFailure(reason: string): void;
  limitRejected(route: string, limit: 'rate' | 'inflight'): void;
}

/** Requests of one route, method and status not yet handed to prom-client. */
interface PendingCount {
  labels: { route: string; method: string; status: string };
  count: number;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  // Requests are counted here and handed to prom-client when the counter is read: prom-client's
  // `collect` hook runs on every read (the /metrics endpoint, `get()`, the JSON export). Per request
  // that is two Map lookups and an increment, instead of building and validating a label set and its
  // hash string.
  const pending = new Map<string, Map<number, PendingCount>>();
  // In the order first seen, so that prom-client lists the series in the order it would have.
  const seen: PendingCount[] = [];
  const flush = (): void => {
    for (const p of seen) {
      if (p.count === 0) continue;
      requests.inc(p.labels, p.count);
      p.count = 0;
    }
  };
  const requests = new Counter({
    name: 'gatehouse_gateway_requests_total',
    help: 'Requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
    collect: flush,
  });
  // A reset drops what was counted, including what was not handed over yet.
  const resetRequests = requests.reset.bind(requests);
  requests.reset = () => {
    pending.clear();
    seen.length = 0;
    resetRequests();
  };
  const duration = new Histogram({
    name: 'gatehouse_gateway_request_duration_seconds',
    help: 'Time from request to response end, by route',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // One label object per route, built once.
  const routeLabels = new Map<string, { route: string }>();
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
        p = { labels: { route, method: m === -1 ? 'OTHER' : method, status: String(status) }, count: 0 };
        byMethodStatus.set(key, p);
        seen.push(p);
      }
      p.count++;
      let labels = routeLabels.get(route);
      if (labels === undefined) {
        labels = { route };
        routeLabels.set(route, labels);
      }
      duration.observe(labels, seconds);
    },
    authFailure(reason) {
      authFailures.inc({ reason });
    },
    limitRejected(route, limit) {
      limits.inc({ route, limit });
    },
  };
}
