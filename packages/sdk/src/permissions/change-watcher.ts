import type { PermissionBackend } from './permission-backend.ts';

/**
 * Follows a store's change feed (ReadChanges with its continuation token) and its newest model,
 * and calls `onChange` when either moved: the decision cache drops what it holds.
 * - The first poll only finds the feed's position (from `startTime`, a minute back to allow for
 *   clocks apart); decisions are cached only once it is known, so no change is ever missed.
 * - `inStep()` is true while the last successful poll is recent (`staleAfterMs`); when the feed
 *   cannot be read, the cache stops answering and every check goes to the engine.
 * - Polls never overlap: the next starts `intervalMs` after the previous one ended.
 */
export interface ChangeWatcherOptions {
  backend: Pick<PermissionBackend, 'readChanges' | 'readAuthorizationModels'>;
  storeId: () => Promise<string>;
  onChange: () => void;
  /** Default 250. */
  intervalMs?: number | undefined;
  /** Default 1000: a removed relationship stops allowing within this much after its write. */
  staleAfterMs?: number | undefined;
  onError?: ((err: unknown) => void) | undefined;
}

export interface ChangeWatcher {
  inStep(): boolean;
  /** Resolves after the next successful poll (tests, and callers that must see a write). */
  nextPoll(): Promise<void>;
  stop(): void;
}

const PAGE = 100;
const CLOCK_MARGIN_MS = 60_000;

export function createChangeWatcher(options: ChangeWatcherOptions): ChangeWatcher {
  const intervalMs = options.intervalMs ?? 250;
  const staleAfterMs = options.staleAfterMs ?? 1000;
  if (!(intervalMs > 0) || !(staleAfterMs > intervalMs)) {
    throw new TypeError('the watch interval must be > 0 and below staleAfterMs');
  }
  const startTime = new Date(Date.now() - CLOCK_MARGIN_MS);
  let token: string | undefined;
  let modelId: string | undefined;
  let positioned = false;
  let lastPollStartedAt = Number.NEGATIVE_INFINITY;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let waiters: (() => void)[] = [];

  async function poll(): Promise<void> {
    const storeId = await options.storeId();
    // Told at once, page by page: a poll that fails half-way must not lose what it already saw.
    for (;;) {
      const page = await options.backend.readChanges(storeId, {
        ...(token ? { continuationToken: token } : {}),
        startTime,
        pageSize: PAGE,
      });
      token = page.continuationToken;
      if (page.changes.length > 0 && positioned) options.onChange();
      if (page.changes.length < PAGE) break;
    }
    const models = await options.backend.readAuthorizationModels(storeId, { pageSize: 1 });
    const newest = models.authorizationModels[0]?.id;
    if (newest !== modelId && positioned) options.onChange();
    modelId = newest;
    positioned = true;
  }

  async function loop(): Promise<void> {
    // What the poll saw was committed before it started: that instant is how fresh the cache is.
    const started = performance.now();
    try {
      await poll();
      lastPollStartedAt = started;
      const done = waiters;
      waiters = [];
      for (const w of done) w();
    } catch (err) {
      options.onError?.(err);
    }
    if (!stopped) {
      timer = setTimeout(() => void loop(), intervalMs);
      timer.unref();
    }
  }
  void loop();

  return {
    inStep: () => positioned && performance.now() - lastPollStartedAt < staleAfterMs,
    nextPoll: () => new Promise<void>((resolve) => waiters.push(resolve)),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
