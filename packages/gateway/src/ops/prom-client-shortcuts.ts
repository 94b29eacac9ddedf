// The only module that relies on how prom-client works inside: a request's metrics are recorded
// without prom-client validating and hashing label sets on the request path. Kept because the
// gateway benchmark's before/after pairs showed it worth more than 5 % of the gateway's CPU per
// request. prom-client is pinned to the exact version below (packages/core/package.json), and
// test/prom-client-shortcuts.test.ts fails the moment that version or its histogram table differ.
import { Counter, Histogram, type Registry } from '@gatehouse/core';

/** The prom-client release these shortcuts were written against and are tested with. */
export const PROM_CLIENT_VERSION = '15.1.3';

/** Increments of one label set not yet handed to prom-client: the owner adds to `count`. */
export interface DeferredCount<L extends string> {
  readonly labels: Record<L, string>;
  count: number;
}

export interface DeferredCounter<L extends string> {
  /** A new count for `labels`: keep it, and add to its `count` on the hot path. */
  track(labels: Record<L, string>): DeferredCount<L>;
  /** Hand over what `counts` hold now and stop tracking them (their owner goes away). */
  release(counts: Iterable<DeferredCount<L>>): void;
}

const byRegistry = new WeakMap<Registry, Map<string, DeferredCounter<string>>>();

/**
 * A prom-client Counter whose increments are kept in plain objects and handed over when the counter
 * is read: its `collect` hook runs on every read (the /metrics endpoint, `get()`, the JSON export).
 * Per increment that is one addition, instead of prom-client validating the label set and building
 * its hash string on the request path. Counts are handed over in the order first tracked, so the
 * series come out in the order plain `inc` calls would have made them. A reset drops what was
 * counted, handed over or not. One per registry and name: what several owners share (the pools of
 * every route, which come and go on reload) is the same counter.
 */
export function deferredCounter<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames: readonly L[] },
): DeferredCounter<L> {
  let named = byRegistry.get(registry);
  if (named === undefined) {
    named = new Map();
    byRegistry.set(registry, named);
  }
  const existing = named.get(config.name);
  if (existing !== undefined) return existing as DeferredCounter<L>;

  const tracked = new Set<DeferredCount<L>>();
  const flush = (): void => {
    for (const c of tracked) {
      if (c.count === 0) continue;
      counter.inc(c.labels as Partial<Record<L, string>>, c.count);
      c.count = 0;
    }
  };
  const counter: Counter<L> = new Counter({ ...config, registers: [registry], collect: flush });
  const reset = counter.reset.bind(counter);
  counter.reset = () => {
    for (const c of tracked) c.count = 0;
    reset();
  };
  const deferred: DeferredCounter<L> = {
    track(labels) {
      const c = { labels, count: 0 };
      tracked.add(c);
      return c;
    },
    release(counts) {
      flush();
      for (const c of counts) tracked.delete(c);
    },
  };
  named.set(config.name, deferred as DeferredCounter<string>);
  return deferred;
}

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
function seriesOf(
  histogram: Histogram<'route'>,
  labels: object,
  buckets: readonly number[],
): HistogramSeries | undefined {
  const table = (histogram as unknown as { hashMap?: Record<string, Partial<HistogramSeries>> }).hashMap;
  if (table === undefined) return undefined;
  for (const key in table) {
    const s = table[key]!;
    if (
      s.labels === labels &&
      typeof s.sum === 'number' &&
      typeof s.count === 'number' &&
      typeof s.bucketValues === 'object' &&
      buckets.every((b) => typeof s.bucketValues![b] === 'number')
    ) {
      return s as HistogramSeries;
    }
  }
  return undefined;
}

export interface RouteHistogram {
  observe(route: string, seconds: number): void;
  /** False once prom-client's table was not what this module expects (plain `observe` from then on). */
  readonly inPlace: boolean;
}

/**
 * A prom-client Histogram labelled by route. Each route's first observation goes through
 * prom-client, which creates the route's series; later ones update that series in place as
 * prom-client's own `observe` does (sum, count, the first bucket whose bound is not below the
 * value). A reset empties prom-client's table, so the series are looked up again afterwards.
 */
export function routeHistogram(
  registry: Registry,
  config: { name: string; help: string; buckets: readonly number[] },
): RouteHistogram {
  const buckets = config.buckets;
  const histogram = new Histogram({
    name: config.name,
    help: config.help,
    labelNames: ['route'],
    buckets: [...buckets],
    registers: [registry],
  });
  const routeSeries = new Map<string, HistogramSeries>();
  let inPlace = true;
  const reset = histogram.reset.bind(histogram);
  histogram.reset = () => {
    routeSeries.clear();
    reset();
  };
  return {
    get inPlace() {
      return inPlace;
    },
    observe(route, seconds) {
      const series = routeSeries.get(route);
      if (series === undefined || !Number.isFinite(seconds)) {
        // prom-client refuses a value that is not a finite number, as it always did.
        const labels = { route };
        histogram.observe(labels, seconds);
        if (!inPlace) return;
        const created = seriesOf(histogram, labels, buckets);
        if (created === undefined) inPlace = false;
        else routeSeries.set(route, created);
        return;
      }
      series.sum += seconds;
      series.count += 1;
      for (let i = 0; i < buckets.length; i++) {
        const bound = buckets[i]!;
        if (seconds <= bound) {
          series.bucketValues[bound]! += 1;
          break;
        }
      }
    },
  };
}
