import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger, Sql } from '@gatehouse/core';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { type BatchedWrite, commitAsOneStatement } from './write-batch.ts';

/**
 * One commit for the writes of an authorization resume (`GET <authorization endpoint>/:uid`, where
 * the browser lands after the login or consent page). A resume used to commit four times: delete
 * the interaction, store the grant, the code and the session. Within a resume, the adapter's
 * upserts and deletes are collected here and stored as one statement together with the session,
 * which oidc-provider stores last, still inside its authorization error handling and before the
 * answer leaves.
 *
 * What stays the same:
 * - The request reads what it wrote: before any other adapter operation of the request (a read, a
 *   consume, a revocation) and before a second write to the same row, the pending writes are
 *   committed first, in order.
 * - Durability: the redirect with the code leaves only after the commit. A failed commit fails the
 *   request where a failed session save failed it before (oidc-provider's error page, server_error).
 * - Writes still pending when no session is stored (an error result, a prompt for a new browser)
 *   are committed after the handler and before the answer; if that fails, the answer becomes the
 *   same server_error page.
 * - No resume write is conditional (deleting the interaction never refused a resume), so there is
 *   nothing to roll back: two concurrent resumes of one interaction behave as before.
 */

interface ResumeBatch {
  sql: Sql;
  writes: BatchedWrite[];
  /** The rows (model and id) with a pending write. */
  rows: Set<string>;
  /** The models with a pending write. */
  models: Set<string>;
}

const storage = new AsyncLocalStorage<ResumeBatch>();

/**
 * The resume being served (an opaque key, the same object for the whole request), or undefined
 * outside one: account-read-ahead.ts keys what the adapter read ahead within a request by it.
 */
export function currentResume(): object | undefined {
  return storage.getStore();
}

async function flush(batch: ResumeBatch): Promise<void> {
  const writes = batch.writes.splice(0);
  batch.rows.clear();
  batch.models.clear();
  if (writes.length === 1) await batch.sql.query(writes[0]!.text, writes[0]!.params);
  else if (writes.length > 1) await commitAsOneStatement(batch.sql, writes);
}

/**
 * Queue an adapter write of row `id` of `model` when inside a resume; false when the caller must
 * write itself. A second write to a row already pending commits the first one before it is queued
 * (one statement must not touch a row twice).
 */
export async function deferResumeWrite(model: string, id: string, write: BatchedWrite): Promise<boolean> {
  const batch = storage.getStore();
  if (!batch) return false;
  const row = `${model}\0${id}`;
  if (batch.rows.has(row)) await flush(batch);
  batch.writes.push(write);
  batch.rows.add(row);
  batch.models.add(model);
  return true;
}

/**
 * Commit the pending writes of the current resume now (nothing to do outside one): all of them, or
 * with `model`, only when one of them is a row of that model (a lookup of that model could see it).
 */
export async function flushResumeWrites(model?: string): Promise<void> {
  const batch = storage.getStore();
  if (!batch || batch.writes.length === 0) return;
  if (model === undefined || batch.models.has(model)) await flush(batch);
}

/**
 * Koa middleware to `provider.use()`: batches the writes of GET requests whose path (below the
 * issuer) matches `resumePath`. `renderError` is the hosted error page given to oidc-provider as
 * `renderError`, if any.
 */
export function resumeWriteBatchMiddleware(options: {
  sql: Sql;
  logger: Logger;
  resumePath: RegExp;
  renderError:
    | ((
        ctx: KoaContextWithOIDC,
        out: { error: string; error_description?: string; iss?: string },
        err: Error,
      ) => Promise<void> | void)
    | undefined;
}) {
  const { sql, logger } = options;
  return async function resumeWriteBatch(ctx: KoaContextWithOIDC, next: () => Promise<unknown>) {
    if (ctx.method !== 'GET' || !options.resumePath.test(ctx.path)) {
      await next();
      return;
    }
    const batch: ResumeBatch = { sql, writes: [], rows: new Set(), models: new Set() };
    await storage.run(batch, next);
    // A commit that failed with the session save went to oidc-provider's error page, which keeps the
    // redirect to the client it had already set: a 500 never redirects, and its code was rolled back.
    if (ctx.status >= 500) ctx.remove('location');
    if (batch.writes.length === 0) return;
    try {
      await flush(batch);
    } catch (err) {
      logger.error({ err }, 'authorization resume writes failed');
      // Without hosted pages, oidc-provider's own default page: Koa's 500 answer.
      if (!options.renderError) throw err;
      // As oidc-provider's authorization error handler answers a write that fails in the handler.
      ctx.remove('location');
      ctx.status = 500;
      ctx.oidc.provider.emit('server_error', ctx, err);
      await options.renderError(
        ctx,
        {
          error: 'server_error',
          error_description: 'oops! something went wrong',
          iss: ctx.oidc.provider.issuer,
        },
        err as Error,
      );
    }
  };
}
