/**
 * Allowed and denied decisions, bounded (least recently used dropped first) and each kept at most
 * `ttlMs`. Kept correct by invalidation, not by the TTL: the change watcher calls `invalidate()` on
 * every change to the store and every new model.
 * - Invalidation is conservative: the whole store. A computed relation can depend on other objects
 *   (usersets, `viewer from parent`), so a change to `folder:1` or `group:eng` can turn a decision
 *   on `document:7` around; without walking the model, only dropping everything is always right.
 * - A decision is stored only if no invalidation happened while it was being computed (`epoch()`
 *   taken before asking, passed to `set`): an answer read before a change must not outlive it.
 * - Nothing is served while the watcher is not in step (`fresh()` false): a watcher that cannot read
 *   the change feed cannot tell which decisions went stale.
 */
export interface DecisionCacheOptions {
  /** Decisions kept at most. Default 10,000. */
  maxEntries?: number | undefined;
  /** Longest a decision is kept, whatever the feed says. Default 10,000 ms. */
  ttlMs?: number | undefined;
  /** Whether the change feed is followed closely enough to trust cached decisions now. */
  fresh: () => boolean;
}

export interface DecisionCache {
  get(key: string): boolean | undefined;
  epoch(): number;
  set(key: string, allowed: boolean, epochAtAsk: number): void;
  invalidate(): void;
  readonly size: number;
}

interface Entry {
  allowed: boolean;
  until: number;
}

export function createDecisionCache(options: DecisionCacheOptions): DecisionCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? 10_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be ≥ 1');
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('ttlMs must be > 0');
  const entries = new Map<string, Entry>();
  let epoch = 0;

  return {
    get(key) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (e.until <= Date.now() || !options.fresh()) {
        entries.delete(key);
        return undefined;
      }
      // Moved to the end: the least recently used is the first key.
      entries.delete(key);
      entries.set(key, e);
      return e.allowed;
    },
    epoch: () => epoch,
    set(key, allowed, epochAtAsk) {
      if (epochAtAsk !== epoch || !options.fresh()) return;
      entries.delete(key);
      entries.set(key, { allowed, until: Date.now() + ttlMs });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
    invalidate() {
      epoch++;
      entries.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
