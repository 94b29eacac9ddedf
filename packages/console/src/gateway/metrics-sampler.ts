import type { Logger } from '@gatehouse/core';
import { parsePrometheusText } from './prometheus-text.ts';

/** What the console keeps of one scrape of the gateway's metrics: totals since the gateway started. */
export interface GatewaySample {
  at: number;
  requests: number;
  status4xx: number;
  status5xx: number;
  /** Cumulative count per histogram bucket upper bound (all routes together). */
  buckets: Map<number, number>;
  /** Requests refused with 429, by route and limit (`rate`, `inflight`). */
  rejections: Map<string, number>;
  /** Whether each upstream replica takes traffic, by `route upstream`. */
  upstreams: Map<string, boolean>;
}

/** A series point: the rate or quantile over the interval that ends at `at`. */
export interface Point {
  at: number;
  value: number;
}

export interface GatewaySeries {
  requestsPerSecond: Point[];
  p99Ms: Point[];
  errors4xxPerSecond: Point[];
  errors5xxPerSecond: Point[];
}

export interface MetricsSampler {
  /** Scrape now unless the last scrape is younger than `freshMs`; resolves to the samples kept. */
  refresh(freshMs?: number): Promise<GatewaySample[]>;
  samples(): GatewaySample[];
  /** The last scrape's error, when the metrics endpoint did not answer. */
  lastError(): string | undefined;
  stop(): void;
}

function toSample(text: string, at: number): GatewaySample {
  const sample: GatewaySample = {
    at,
    requests: 0,
    status4xx: 0,
    status5xx: 0,
    buckets: new Map(),
    rejections: new Map(),
    upstreams: new Map(),
  };
  for (const s of parsePrometheusText(text)) {
    if (s.name === 'gatehouse_gateway_requests_total') {
      sample.requests += s.value;
      const status = s.labels['status'] ?? '';
      if (status.startsWith('4')) sample.status4xx += s.value;
      if (status.startsWith('5')) sample.status5xx += s.value;
    } else if (s.name === 'gatehouse_gateway_request_duration_seconds_bucket') {
      const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
      sample.buckets.set(le, (sample.buckets.get(le) ?? 0) + s.value);
    } else if (s.name === 'gatehouse_gateway_limit_rejections_total') {
      sample.rejections.set(`${s.labels['route'] ?? ''} ${s.labels['limit'] ?? ''}`, s.value);
    } else if (s.name === 'gatehouse_gateway_upstream_available') {
      sample.upstreams.set(`${s.labels['route'] ?? ''} ${s.labels['upstream'] ?? ''}`, s.value === 1);
    }
  }
  return sample;
}

/** The 0.99 quantile of the requests between two scrapes, from the histogram's bucket counts. */
function p99Between(a: GatewaySample, b: GatewaySample): number | undefined {
  const bounds = [...b.buckets.keys()].sort((x, y) => x - y);
  const total = (b.buckets.get(Infinity) ?? 0) - (a.buckets.get(Infinity) ?? 0);
  if (total <= 0) return undefined;
  const rank = 0.99 * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const count = (b.buckets.get(le) ?? 0) - (a.buckets.get(le) ?? 0);
    if (count >= rank) {
      // Linear inside the bucket, as Prometheus' histogram_quantile does; the open bucket has no width.
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(count - below, 1);
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** Rates and p99 between consecutive scrapes. */
export function seriesOf(samples: GatewaySample[]): GatewaySeries {
  const series: GatewaySeries = {
    requestsPerSecond: [],
    p99Ms: [],
    errors4xxPerSecond: [],
    errors5xxPerSecond: [],
  };
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const seconds = (b.at - a.at) / 1000;
    // A counter that went down means the gateway restarted: that interval says nothing.
    if (seconds <= 0 || b.requests < a.requests) continue;
    series.requestsPerSecond.push({ at: b.at, value: (b.requests - a.requests) / seconds });
    series.errors4xxPerSecond.push({ at: b.at, value: (b.status4xx - a.status4xx) / seconds });
    series.errors5xxPerSecond.push({ at: b.at, value: (b.status5xx - a.status5xx) / seconds });
    const p99 = p99Between(a, b);
    series.p99Ms.push({ at: b.at, value: p99 === undefined ? 0 : p99 * 1000 });
  }
  return series;
}

/**
 * Scrapes the gateway's Prometheus endpoint every `intervalMs` while someone looks at the gateway page
 * (it stops after `idleMs` without a look) and keeps the last `keep` scrapes: the charts show the last
 * minutes without a time-series database.
 */
export function createMetricsSampler(options: {
  url: () => string | undefined;
  logger: Logger;
  intervalMs?: number;
  keep?: number;
  idleMs?: number;
}): MetricsSampler {
  const intervalMs = options.intervalMs ?? 5000;
  const keep = options.keep ?? 61;
  const idleMs = options.idleMs ?? 10 * 60_000;
  const kept: GatewaySample[] = [];
  let timer: NodeJS.Timeout | undefined;
  let lastLook = 0;
  let error: string | undefined;
  let inFlight: Promise<void> | undefined;

  async function scrape(): Promise<void> {
    const url = options.url();
    if (!url) return;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      kept.push(toSample(await res.text(), Date.now()));
      if (kept.length > keep) kept.splice(0, kept.length - keep);
      error = undefined;
    } catch (err) {
      error = (err as Error).message;
      options.logger.warn({ err: error, url }, 'gateway metrics scrape failed');
    }
  }
  const once = () => (inFlight ??= scrape().finally(() => (inFlight = undefined)));

  function tick(): void {
    if (Date.now() - lastLook > idleMs) {
      clearInterval(timer);
      timer = undefined;
      return;
    }
    void once();
  }

  return {
    async refresh(freshMs = 1000) {
      lastLook = Date.now();
      if (!timer) {
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
      const last = kept.at(-1);
      if (!last || Date.now() - last.at > freshMs) await once();
      return kept;
    },
    samples: () => kept,
    lastError: () => error,
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
