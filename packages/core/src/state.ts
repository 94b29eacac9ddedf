import { storageErrors } from './storage-errors.ts';

/**
 * Shared fast state: rate-limit buckets, in-flight slots, key-value with TTL (replay caches,
 * revocation keys) and pub/sub (revocation fan-out).
 *
 * - `memory`: this process only. For one replica and for development: two replicas with the memory
 *   driver each enforce their own limits and never hear each other's messages.
 * - `redis`: shared by every replica. Buckets and slots are atomic Lua scripts timed by the Redis clock,
 *   so replicas with skewed clocks still agree. `keyPrefix` is put before every key and channel.
 *
 * Token bucket: `capacity` = burst, `refillPerSecond` = average rate; a bucket not seen yet is full.
 * `remaining` = whole tokens left after this call; `retryAfterMs` = time until `cost` tokens (one
 * token at the default cost) are available, 0 when they already are; `resetMs` = time until full.
 *
 * In-flight slots: `acquireSlot` takes one of `limit` slots for at most `ttlMs` (a holder that dies
 * frees its slot when the TTL runs out); `releaseSlot` frees one slot of the key.
 *
 * Buckets, slots and key-value keys live in separate namespaces: the same name may be used for each.
 * Pub/sub delivers a message to every subscriber of every connection; a message published after
 * `subscribe` resolved is delivered. Handlers must not throw: a throw is reported as a process warning
 * and the other handlers still run. Pub/sub is fire-and-forget: a message published while a
 * subscriber's connection is down is lost to it. `onResubscribed` is called each time the
 * subscription is live again after such a loss, so the subscriber can catch up from its source of
 * truth (the memory driver never loses a subscription and never calls it).
 */
export interface TokenBucket {
  capacity: number;
  refillPerSecond: number;
}

export interface TakeTokenResult {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
  resetMs: number;
}

export interface SharedState {
  readonly driver: 'memory' | 'redis';
  takeToken(key: string, bucket: TokenBucket, cost?: number): Promise<TakeTokenResult>;
  acquireSlot(key: string, limit: number, ttlMs: number): Promise<boolean>;
  releaseSlot(key: string): Promise<void>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(
    channel: string,
    handler: (message: string) => void,
    onResubscribed?: () => void,
  ): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StateOptions = { driver: 'memory' } | { driver: 'redis'; url: string; keyPrefix?: string };

/** Open the shared state. For `redis`, the server must answer (else GH_STATE_UNAVAILABLE). */
export async function openState(options: StateOptions): Promise<SharedState> {
  if (options.driver === 'memory') {
    const { openMemoryState } = await import('./state-memory.ts');
    return openMemoryState();
  }
  if (options.driver === 'redis') {
    const { openRedisState } = await import('./state-redis.ts');
    return openRedisState(options.url, options.keyPrefix ?? '');
  }
  throw new Error(`unknown state driver ${(options as { driver: unknown }).driver}`);
}

// ---- internal: shared by the two drivers ----

function invalid(message: string): Error {
  return storageErrors.create('GH_STATE_INVALID_ARGUMENT', message);
}

/** Reject what would make the bucket math meaningless (a caller bug, never user input). */
export function checkBucket(bucket: TokenBucket, cost: number): void {
  if (!(Number.isFinite(bucket.capacity) && bucket.capacity > 0)) throw invalid('capacity must be > 0');
  if (!(Number.isFinite(bucket.refillPerSecond) && bucket.refillPerSecond > 0)) {
    throw invalid('refillPerSecond must be > 0');
  }
  if (!(Number.isFinite(cost) && cost > 0 && cost <= bucket.capacity)) {
    throw invalid('cost must be > 0 and at most the capacity');
  }
}

export function checkSlot(limit: number, ttlMs: number): void {
  if (!(Number.isInteger(limit) && limit > 0)) throw invalid('limit must be a positive integer');
  if (!(Number.isInteger(ttlMs) && ttlMs > 0)) throw invalid('ttlMs must be a positive integer');
}

export function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0)) {
    throw invalid('ttlMs must be a positive integer');
  }
}

/** Milliseconds for `tokens` at `refillPerSecond`, rounded up; the epsilon keeps 3000.0000000004 at 3000. */
export function msFor(tokens: number, refillPerSecond: number): number {
  return tokens <= 0 ? 0 : Math.ceil((tokens * 1000) / refillPerSecond - 1e-6);
}
