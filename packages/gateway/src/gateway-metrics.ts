import { Counter, Histogram, type Registry } from '@gatehouse/core';
import { type DeferredCount, deferredCounter } from './deferred-counter.ts';

const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** The request pipeline's Prometheus metrics. Label values are bounded: route ids come from config. */
export interface GatewayMetrics {
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  authFailure(reason: string): void;
  limitRejected(route: string, limit: 'rate' | 'inflight'): void;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One label set's values inside a prom-client 15 Histogram (its `hashMap` entries). */
interface HistogramSeries {
  labels: object;
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/**
 * The series prom-client keeps for `labels` (the very object it was given), or undefined when its
 * table is not shaped as expected: the caller then keeps calling `observe`, slower but right.
 */
function seriesOf(histogram: Histogram<'route'>, labels: object): HistogramSeries | undefined {
  const table = (histogram as unknown as { hashMap?: Record<string, Partial<HistogramSeries>> }).hashMap;
  if (table === undefined) return undefined;
  for (const key in table) {
    const s = table[key]!;
    if (
      s.labels === labels &&
      typeof s.sum === 'number' &&
      typeof s.count === 'number' &&
      typeof s.bucketValues === 'object' &&
      DURATION_BUCKETS.every((b) => typeof s.bucketValues![b] === 'number')
    ) {
      return s as HistogramSeries;
    }
  }
  return undefined;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  // Requests are counted here and handed to prom-client when the counter is read
  // (deferred-counter.ts): per request two Map lookups and an increment.
  const requests = deferredCounter(registry, {
    name: 'gatehouse_gateway_requests_total',
    help: 'Requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
  });
  const pending = new Map<string, Map<number, DeferredCount<'route' | 'method' | 'status'>>>();
  const duration = new Histogram({
    name: 'gatehouse_gateway_request_duration_seconds',
    help: 'Time from request to response end, by route',
    labelNames: ['route'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  // Durations go to prom-client once per route: its first observation creates the route's series,
  // which is then updated in place as prom-client's own `observe` does (sum, count, the first
  // bucket whose bound is not below the value), without validating and hashing the labels on every
  // request. A reset empties prom-client's table, so the series are looked up again afterwards.
  const routeSeries = new Map<string, HistogramSeries>();
  // False once prom-client's table is not what seriesOf expects: plain `observe` from then on.
  let inPlace = true;
  const resetDuration = duration.reset.bind(duration);
  duration.reset = () => {
    routeSeries.clear();
    resetDuration();
  };
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
      const series = routeSeries.get(route);
      if (series === undefined || !Number.isFinite(seconds)) {
        // prom-client refuses a value that is not a finite number, as it always did.
        const labels = { route };
        duration.observe(labels, seconds);
        if (!inPlace) return;
        const created = seriesOf(duration, labels);
        if (created === undefined) inPlace = false;
        else routeSeries.set(route, created);
        return;
      }
      series.sum += seconds;
      series.count += 1;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        const bound = DURATION_BUCKETS[i]!;
        if (seconds <= bound) {
          series.bucketValues[bound]! += 1;
          break;
        }
      }
    },
    authFailure(reason) {
      authFailures.inc({ reason });
    },
    limitRejected(route, limit) {
      limits.inc({ route, limit });
    },
  };
}
