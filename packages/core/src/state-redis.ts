import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  checkBucket,
  checkSlot,
  checkTtl,
  type SharedState,
  type TakeTokenResult,
  type TokenBucket,
} from './state.ts';
import { storageErrors } from './storage-errors.ts';

/*
 * Token bucket as one atomic script, timed by the Redis clock (TIME) so replicas with skewed clocks
 * agree. The hash holds the tokens left (a float) and when they were counted; a missing bucket is full.
 * Returns integers (Redis truncates Lua numbers): allowed, whole tokens left, retryAfterMs, resetMs.
 * The rounding mirrors msFor() in state.ts.
 */
const takeTokenLua = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(data[1])
local at = tonumber(data[2])
if tokens == nil or at == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
end
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
local function ms(n)
  if n <= 0 then return 0 end
  return math.ceil(n * 1000 / rate - 0.000001)
end
local reset = ms(capacity - tokens)
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], reset + 1000)
local need = cost
if allowed == 1 then need = 1 end
return { allowed, math.floor(tokens), ms(need - tokens), reset }
`;

/*
 * In-flight slots as a sorted set: one member per held slot, scored by its expiry (Redis clock).
 * Expired members are dropped first, so a holder that died frees its slot after the TTL.
 */
const acquireSlotLua = `
local limit = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]))
return 1
`;

interface ScriptedRedis extends Redis {
  ghTakeToken(
    key: string,
    capacity: number,
    rate: number,
    cost: number,
  ): Promise<[number, number, number, number]>;
  ghAcquireSlot(key: string, limit: number, ttlMs: number, member: string): Promise<number>;
}

function unavailable(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const name = (err as { name?: unknown } | null)?.name;
  // Redis answered with an error (ReplyError: WRONGTYPE, script error): a bug, not an outage.
  if (name === 'ReplyError') return err;
  if (typeof code === 'string' && code.startsWith('GH_')) return err;
  return storageErrors.create('GH_STATE_UNAVAILABLE', undefined, { cause: err });
}

const startupTimeoutMs = 5000;

/**
 * The longest a command may wait for its answer. A live Redis answers these commands in well under
 * a millisecond; a command sent just before the connection dropped, or to a server that accepts and
 * never answers, fails after this instead of holding the request that made it.
 */
const REDIS_COMMAND_TIMEOUT_MS = 1000;

/** The longest pause between two reconnection attempts while Redis is away. */
const REDIS_RECONNECT_MAX_MS = 500;

/** Redis shared state. `keyPrefix` goes before every key and channel (tests use a unique one). */
export async function openRedisState(url: string, keyPrefix: string): Promise<SharedState> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // While the connection is down a command fails at once (callers answer 503 or fall back)
    // instead of waiting in ioredis' offline queue: that queue is only emptied every
    // maxRetriesPerRequest + 1 reconnection attempts, which with the backoff is many seconds, and
    // every request needing the state would wait that long.
    enableOfflineQueue: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    // Commands in flight when the connection drops fail after a few attempts, not at the next ready.
    maxRetriesPerRequest: 2,
    // A refused connection costs nothing, and every pause skipped is time the state stays
    // unavailable after Redis is back: try again often rather than backing off to seconds.
    retryStrategy: (attempt) => Math.min(attempt * 50, REDIS_RECONNECT_MAX_MS),
    connectTimeout: startupTimeoutMs,
  }) as ScriptedRedis;
  // ioredis reports connection trouble as 'error' events; commands fail on their own (GH_STATE_UNAVAILABLE).
  redis.on('error', () => {});
  // defineCommand sends EVALSHA and falls back to EVAL once when the server does not know the script.
  redis.defineCommand('ghTakeToken', { numberOfKeys: 1, lua: takeTokenLua });
  redis.defineCommand('ghAcquireSlot', { numberOfKeys: 1, lua: acquireSlotLua });
  // A server that accepts the connection and never answers would hold the start-up forever: the
  // connection and the first answer together get the connect timeout.
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${startupTimeoutMs} ms`)),
          startupTimeoutMs,
        );
      }),
    ]);
  } catch (err) {
    redis.disconnect();
    // A server that accepts and stays silent fails the ready check at the command timeout and is
    // then reported by ioredis as a closed connection: the time taken says which it was.
    throw storageErrors.create(
      'GH_STATE_UNAVAILABLE',
      `Redis does not answer: ${(err as Error).message} (after ${Date.now() - started} ms)`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
  return new RedisState(redis, keyPrefix);
}

class RedisState implements SharedState {
  readonly driver = 'redis' as const;
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  #subscriber: Redis | undefined;
  readonly #handlers = new Map<string, Set<(message: string) => void>>();
  readonly #resubscribed = new Map<string, Set<() => void>>();
  #closed = false;

  constructor(redis: ScriptedRedis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw storageErrors.create('GH_STATE_UNAVAILABLE', 'Shared state is closed');
    try {
      return await fn();
    } catch (err) {
      throw unavailable(err);
    }
  }

  async takeToken(key: string, bucket: TokenBucket, cost = 1): Promise<TakeTokenResult> {
    checkBucket(bucket, cost);
    const [allowed, remaining, retryAfterMs, resetMs] = await this.#run(() =>
      this.#redis.ghTakeToken(`${this.#prefix}bucket:${key}`, bucket.capacity, bucket.refillPerSecond, cost),
    );
    return { allowed: allowed === 1, remaining, retryAfterMs, resetMs };
  }

  async acquireSlot(key: string, limit: number, ttlMs: number): Promise<boolean> {
    checkSlot(limit, ttlMs);
    const ok = await this.#run(() =>
      this.#redis.ghAcquireSlot(`${this.#prefix}slot:${key}`, limit, ttlMs, randomUUID()),
    );
    return ok === 1;
  }

  async releaseSlot(key: string): Promise<void> {
    // The slot that expires first goes, as in the memory driver: which holder releases does not matter.
    await this.#run(() => this.#redis.zpopmin(`${this.#prefix}slot:${key}`));
  }

  async get(key: string): Promise<string | null> {
    return this.#run(() => this.#redis.get(`${this.#prefix}kv:${key}`));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    checkTtl(ttlMs);
    const k = `${this.#prefix}kv:${key}`;
    await this.#run(() =>
      ttlMs === undefined ? this.#redis.set(k, value) : this.#redis.set(k, value, 'PX', ttlMs),
    );
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const reply = await this.#run(() =>
      this.#redis.set(`${this.#prefix}kv:${key}`, value, 'PX', ttlMs, 'NX'),
    );
    return reply === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.#run(() => this.#redis.del(`${this.#prefix}kv:${key}`));
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#run(() => this.#redis.publish(`${this.#prefix}${channel}`, message));
  }

  /** A connection in subscriber mode can run nothing else, so subscriptions get their own, made on first use. */
  #subscriberConnection(): Redis {
    if (!this.#subscriber) {
      // Its connection is opened by the first SUBSCRIBE, which must wait for it: this one keeps the
      // offline queue, bounded by the command timeout like every other command.
      const sub = this.#redis.duplicate({ enableOfflineQueue: true });
      sub.on('error', () => {});
      // ioredis reconnects and resubscribes on its own; messages sent meanwhile are lost. Once a
      // channel is live again (SUBSCRIBE answered), its subscribers are told so they can catch up.
      let connectedBefore = false;
      sub.on('ready', () => {
        if (!connectedBefore) {
          connectedBefore = true;
          return;
        }
        for (const [channel, listeners] of this.#resubscribed) {
          sub.subscribe(`${this.#prefix}${channel}`).then(
            () => {
              for (const listener of listeners) listener();
            },
            () => {},
          );
        }
      });
      sub.on('message', (fullChannel: string, message: string) => {
        const handlers = this.#handlers.get(fullChannel.slice(this.#prefix.length));
        for (const handler of handlers ?? []) {
          try {
            handler(message);
          } catch (err) {
            process.emitWarning(`shared state subscriber of ${fullChannel} threw: ${(err as Error).message}`);
          }
        }
      });
      this.#subscriber = sub;
    }
    return this.#subscriber;
  }

  async subscribe(
    channel: string,
    handler: (message: string) => void,
    onResubscribed?: () => void,
  ): Promise<() => Promise<void>> {
    const sub = this.#subscriberConnection();
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
    }
    // Wrapped so that the same function subscribed twice gets two independent subscriptions.
    const entry = (message: string) => handler(message);
    handlers.add(entry);
    const resubscribed = onResubscribed ? () => onResubscribed() : undefined;
    if (resubscribed) {
      let set = this.#resubscribed.get(channel);
      if (!set) {
        set = new Set();
        this.#resubscribed.set(channel, set);
      }
      set.add(resubscribed);
    }
    // SUBSCRIBE is idempotent; awaiting it every time means the subscription is live when we resolve.
    await this.#run(() => sub.subscribe(`${this.#prefix}${channel}`));
    return async () => {
      if (resubscribed) this.#resubscribed.get(channel)?.delete(resubscribed);
      const set = this.#handlers.get(channel);
      if (!set?.delete(entry) || set.size > 0) return;
      this.#handlers.delete(channel);
      if (!this.#closed) await this.#run(() => sub.unsubscribe(`${this.#prefix}${channel}`));
    };
  }

  async ping(): Promise<void> {
    await this.#run(() => this.#redis.ping());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    this.#resubscribed.clear();
    await Promise.all([
      this.#redis.quit().catch(() => this.#redis.disconnect()),
      this.#subscriber?.quit().catch(() => this.#subscriber?.disconnect()),
    ]);
  }
}
