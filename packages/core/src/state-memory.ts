import { EventEmitter } from 'node:events';
import {
  checkBucket,
  checkSlot,
  checkTtl,
  msFor,
  type SharedState,
  type TakeTokenResult,
  type TokenBucket,
} from './state.ts';
import { storageErrors } from './storage-errors.ts';

/** Expired entries are dropped when read and by a sweep this often, so idle keys do not pile up. */
const sweepEveryMs = 30_000;

/**
 * The data of the in-process state. Several `MemoryState`s over one store behave like several
 * connections to one Redis (tests use this to run the shared suite's two-connection cases).
 */
export class MemoryStore {
  readonly buckets = new Map<string, { tokens: number; at: number; fullAt: number }>();
  readonly slots = new Map<string, number[]>(); // expiry times of the held slots
  readonly values = new Map<string, { value: string; expiresAt: number }>();
  readonly bus = new EventEmitter();
  #users = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor() {
    this.bus.setMaxListeners(0);
  }

  /** Monotonic milliseconds: wall-clock jumps must not refill buckets or expire keys. */
  now(): number {
    return performance.now();
  }

  attach(): void {
    this.#users += 1;
    if (!this.#sweeper) {
      this.#sweeper = setInterval(() => this.sweep(), sweepEveryMs);
      this.#sweeper.unref();
    }
  }

  detach(): void {
    this.#users -= 1;
    if (this.#users <= 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  sweep(): void {
    const now = this.now();
    for (const [k, v] of this.values) if (v.expiresAt <= now) this.values.delete(k);
    for (const [k, b] of this.buckets) if (b.fullAt <= now) this.buckets.delete(k); // full = same as absent
    for (const [k, s] of this.slots) {
      const live = s.filter((t) => t > now);
      if (live.length === 0) this.slots.delete(k);
      else this.slots.set(k, live);
    }
  }
}

/** In-process shared state (development and single-replica deployments). */
export async function openMemoryState(store: MemoryStore = new MemoryStore()): Promise<SharedState> {
  return new MemoryState(store);
}

class MemoryState implements SharedState {
  readonly driver = 'memory' as const;
  readonly #store: MemoryStore;
  readonly #listeners = new Set<{ channel: string; listener: (message: string) => void }>();
  #closed = false;

  constructor(store: MemoryStore) {
    this.#store = store;
    store.attach();
  }

  #check(): void {
    if (this.#closed) throw storageErrors.create('GH_STATE_UNAVAILABLE', 'Shared state is closed');
  }

  async takeToken(key: string, bucket: TokenBucket, cost = 1): Promise<TakeTokenResult> {
    this.#check();
    checkBucket(bucket, cost);
    const { capacity, refillPerSecond } = bucket;
    const now = this.#store.now();
    const prev = this.#store.buckets.get(key);
    let tokens = prev
      ? Math.min(capacity, prev.tokens + ((now - prev.at) * refillPerSecond) / 1000)
      : capacity;
    const allowed = tokens >= cost;
    if (allowed) tokens -= cost;
    const resetMs = msFor(capacity - tokens, refillPerSecond);
    this.#store.buckets.set(key, { tokens, at: now, fullAt: now + resetMs });
    return {
      allowed,
      remaining: Math.floor(tokens),
      retryAfterMs: msFor((allowed ? 1 : cost) - tokens, refillPerSecond),
      resetMs,
    };
  }

  async acquireSlot(key: string, limit: number, ttlMs: number): Promise<boolean> {
    this.#check();
    checkSlot(limit, ttlMs);
    const now = this.#store.now();
    const held = (this.#store.slots.get(key) ?? []).filter((t) => t > now);
    const ok = held.length < limit;
    if (ok) held.push(now + ttlMs);
    this.#store.slots.set(key, held);
    return ok;
  }

  async releaseSlot(key: string): Promise<void> {
    this.#check();
    const held = this.#store.slots.get(key);
    if (!held) return;
    // Free the slot that expires first, as the Redis driver does (ZPOPMIN).
    held.sort((a, b) => a - b).shift();
    if (held.length === 0) this.#store.slots.delete(key);
  }

  #live(key: string): { value: string; expiresAt: number } | undefined {
    const entry = this.#store.values.get(key);
    if (entry && entry.expiresAt <= this.#store.now()) {
      this.#store.values.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key: string): Promise<string | null> {
    this.#check();
    return this.#live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.#check();
    checkTtl(ttlMs);
    const expiresAt = ttlMs === undefined ? Number.POSITIVE_INFINITY : this.#store.now() + ttlMs;
    this.#store.values.set(key, { value, expiresAt });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.#check();
    checkTtl(ttlMs);
    if (this.#live(key)) return false;
    this.#store.values.set(key, { value, expiresAt: this.#store.now() + ttlMs });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.#check();
    this.#store.values.delete(key);
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#check();
    // Delivered on a later tick, never inside publish(), as with Redis.
    setImmediate(() => this.#store.bus.emit(channel, message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    this.#check();
    const entry = {
      channel,
      listener: (message: string) => {
        try {
          handler(message);
        } catch (err) {
          process.emitWarning(`shared state subscriber of ${channel} threw: ${(err as Error).message}`);
        }
      },
    };
    this.#store.bus.on(channel, entry.listener);
    this.#listeners.add(entry);
    return async () => {
      this.#store.bus.off(channel, entry.listener);
      this.#listeners.delete(entry);
    };
  }

  async ping(): Promise<void> {
    this.#check();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { channel, listener } of this.#listeners) this.#store.bus.off(channel, listener);
    this.#listeners.clear();
    this.#store.detach();
  }
}
