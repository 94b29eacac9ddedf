import type { Logger } from '@gatehouse/core';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** Seconds a client is asked to wait when the database does not answer. */
const RETRY_AFTER_SECONDS = 2;

const FLAG = Symbol('storage unavailable');

type Next = () => Promise<void>;

/** Whether `err`, or an error it was caused by, says the database does not answer. */
export function isStorageUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.code === 'GH_STORAGE_UNAVAILABLE' || e.code === 'GH_STORAGE_CLOSED') return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** Note on the request that it failed because the database does not answer (see the middleware). */
export function markIfStorageUnavailable(ctx: KoaContextWithOIDC, err: unknown): void {
  if (isStorageUnavailable(err)) (ctx.state as Record<symbol, boolean>)[FLAG] = true;
}

/**
 * Koa middleware to `provider.use()`, outermost: a request that failed because the database does
 * not answer is a 503 with Retry-After (`temporarily_unavailable` for a JSON answer), not a 500
 * `server_error` — the client may simply try again, and a load balancer may try another replica.
 * oidc-provider renders the error itself; its `server_error` event (wired to
 * `markIfStorageUnavailable`) says why, and this rewrites the answer's status.
 */
export function storageUnavailableMiddleware(logger: Logger) {
  return async (ctx: KoaContextWithOIDC, next: Next): Promise<void> => {
    await next();
    if (!(ctx.state as Record<symbol, boolean>)[FLAG]) return;
    ctx.status = 503;
    ctx.set('retry-after', String(RETRY_AFTER_SECONDS));
    ctx.set('cache-control', 'no-store');
    const body = ctx.body as { error?: unknown } | undefined;
    if (body && typeof body === 'object' && body.error === 'server_error') {
      ctx.body = {
        error: 'temporarily_unavailable',
        error_description: 'storage does not answer; try again',
      };
    }
    logger.warn({ path: ctx.path }, 'storage does not answer: 503');
  };
}
