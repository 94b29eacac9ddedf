import { Counter, type Registry } from '@gatehouse/core';

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
