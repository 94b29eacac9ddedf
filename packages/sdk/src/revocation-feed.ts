import { sdkError } from './errors.ts';
import { parseRevocation, type Revocation } from './revocation-list.ts';

/**
 * Follow the identity provider's durable revocation feed (docs/contracts.md, "Tokens and
 * revocation"): every revocation after the last cursor goes to `target().revoke`. Pub/sub is the fast
 * path and may lose messages (a dropped connection, Redis down at the moment of a logout); the feed
 * is what makes a revocation impossible to miss. Call `sync()` at start-up before serving and after
 * every reconnect of the subscription; `start()` adds a catch-up poll every `pollIntervalMs`.
 */
export interface RevocationFeedOptions {
  /** The feed URL: the identity provider's origin + `/_gatehouse/revocations`. */
  url: string;
  /** Bearer token the feed requires (`idp.revocationFeedToken`), if any. */
  token?: string;
  /** Read on every revocation, so a verifier replaced by a reload keeps receiving them. */
  target: () => { revoke(r: Revocation): void };
  /** Catch-up poll interval, default 2000 ms. */
  pollIntervalMs?: number;
  /** Per request, default 5000 ms. */
  timeoutMs?: number;
  /** A failed poll (the identity provider down): the next poll tries again. */
  onError?: (err: Error) => void;
  /** A catch-up succeeded with this many revocations. */
  onSynced?: (count: number) => void;
}

export interface RevocationFeed {
  /** Catch up now; concurrent calls share one catch-up that starts after them. Rejects when the feed fails. */
  sync(): Promise<number>;
  /** Whether one catch-up has succeeded since creation. */
  readonly synced: boolean;
  /** When the last catch-up succeeded (epoch ms), or undefined before the first. */
  readonly syncedAt: number | undefined;
  /** Start the catch-up poll (unref'd: it never keeps the process alive). */
  start(): void;
  stop(): void;
}

const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  const url = new URL(options.url);
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const timeoutMs = options.timeoutMs ?? 5000;
  let cursor = '0';
  let synced = false;
  let syncedAt: number | undefined;
  let running: Promise<number> | undefined;
  let queued: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function fetchOnce(): Promise<number> {
    url.searchParams.set('since', cursor);
    let body: unknown;
    try {
      const res = await fetch(url, {
        headers: {
          accept: 'application/json',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      if (res.status !== 200) throw new Error(`the revocation feed answered ${res.status}`);
      const length = Number(res.headers.get('content-length') ?? '0');
      if (length > MAX_ANSWER_BYTES) throw new Error('the revocation feed answer is too large');
      body = await res.json();
    } catch (cause) {
      throw sdkError('SDK_REVOCATION_UNAVAILABLE', 'The revocation feed cannot be read', { cause });
    }
    const page = body as { revocations?: unknown; cursor?: unknown } | null;
    if (
      page === null ||
      typeof page !== 'object' ||
      !Array.isArray(page.revocations) ||
      typeof page.cursor !== 'string' ||
      !/^\d{1,18}$/.test(page.cursor)
    ) {
      throw sdkError('SDK_REVOCATION_UNAVAILABLE', 'The revocation feed answer is malformed');
    }
    const revocations: Revocation[] = [];
    for (const item of page.revocations) {
      const r = parseRevocation(item);
      if (!r)
        throw sdkError('SDK_REVOCATION_UNAVAILABLE', 'The revocation feed holds a malformed revocation');
      revocations.push(r);
    }
    const target = options.target();
    for (const r of revocations) target.revoke(r);
    cursor = page.cursor;
    synced = true;
    syncedAt = Date.now();
    options.onSynced?.(revocations.length);
    return revocations.length;
  }

  function sync(): Promise<number> {
    // A catch-up asked for while one runs must start after it: the running one may have read
    // the feed before the revocation that prompted the call.
    if (!running) {
      running = fetchOnce().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued ??= running
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return sync();
      });
    return queued;
  }

  return {
    sync,
    get synced() {
      return synced;
    },
    get syncedAt() {
      return syncedAt;
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        sync().catch((err: Error) => options.onError?.(err));
      }, pollIntervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
