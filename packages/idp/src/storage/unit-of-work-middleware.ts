import type { Logger, Sql } from '@gatehouse/core';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { groupWhileBusy } from './group-while-busy.ts';
import type { BatchedWrite } from './one-statement.ts';
import { commitAsOneStatement } from './one-statement.ts';
import { markIfStorageUnavailable } from './storage-unavailable.ts';
import { RefusedWrite, storeAuditWrites, UnitOfWork } from './unit-of-work.ts';

/** Most audit inserts in one grouped statement: bounds its parameters and its distinct texts. */
const MAX_GROUPED_WRITES = 32;

type RenderError = (
  ctx: KoaContextWithOIDC,
  out: { error: string; error_description?: string; iss?: string },
  err: Error,
) => Promise<void> | void;

/**
 * Koa middleware to `provider.use()`: where oidc-provider's requests enter, it opens the unit of
 * work (unit-of-work.ts) of token requests (POST `tokenPath`) and authorization resumes (GET of a
 * path matching `resumePath`), and commits it before the answer leaves. Other requests get none:
 * their writes go out at once.
 *
 * Token request: one statement for every write, after oidc-provider built the answer.
 * - Single use: the consume (refresh token or code) is a conditional UPDATE (`consumed_at is null`).
 *   When another request consumed the token first, nothing is stored (the rotated token and the JWT
 *   record neither), the grant is revoked, and the answer becomes `invalid_grant`; likewise a write
 *   whose grant is gone.
 * - Durability: nothing is answered before the commit; a failed commit answers `server_error`.
 * - A failed audit insert never fails a token request: the protocol writes are stored without the
 *   audit events, which are then stored on their own.
 * - Error answers commit no protocol write (oidc-provider refused the request), only audit events.
 *   Requests with audit events only (client credentials, error answers) share statements: group
 *   commit, see `recordAuditGrouped`; each still answers after its events are stored.
 *
 * Resume: the writes still pending after the handler (an error result, a prompt for a new browser)
 * are stored before the answer; a failure becomes oidc-provider's server_error page
 * (`renderError`, the hosted error page, if any). No resume write is conditional, so there is
 * nothing to roll back: two concurrent resumes of one interaction behave as with separate writes.
 */
export function unitOfWorkMiddleware(options: {
  sql: Sql;
  logger: Logger;
  tokenPath: string;
  resumePath: RegExp;
  renderError?: RenderError | undefined;
}) {
  const { sql, logger } = options;

  /**
   * Group commit of the audit events of token requests without protocol writes (client
   * credentials, refused requests), which would otherwise cost each request a statement and a
   * commit of their own. While one statement is in flight, the events of the requests that end
   * meanwhile wait and go together in the next one; an idle server writes at once. When the grouped
   * statement fails, each request's events are stored on their own.
   */
  const enqueueAudit = groupWhileBusy<{ writes: BatchedWrite[]; done: () => void }>({
    max: MAX_GROUPED_WRITES,
    size: (request) => request.writes.length,
    async flush(group) {
      const writes = group.flatMap((g) => g.writes);
      const combine = writes[0]!.combine;
      try {
        if (combine && writes.every((w) => w.combine === combine)) {
          const statement = combine(writes.map((w) => w.params));
          await sql.query(statement.text, statement.params);
        } else {
          await commitAsOneStatement(sql, writes);
        }
      } catch (err) {
        logger.error({ err, requests: group.length }, 'grouped audit events failed; storing each on its own');
        await Promise.all(group.map((g) => storeAuditWrites(sql, logger, g.writes)));
      }
      for (const g of group) g.done();
    },
  });

  function recordAuditGrouped(writes: BatchedWrite[]): Promise<void> {
    return new Promise((done) => enqueueAudit({ writes, done }));
  }

  async function tokenRequest(ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> {
    const work = new UnitOfWork({ sql, logger, kind: 'token' });
    await work.run(next);
    const protocol = work.tokenWrites;
    const audit = work.auditWrites;
    if (protocol.length === 0 && audit.length === 0) return;
    if (ctx.status < 200 || ctx.status >= 300 || protocol.length === 0) {
      if (audit.length > 0) await recordAuditGrouped(audit);
      return;
    }
    try {
      let outcome: 'ok' | 'refused' | 'failed';
      try {
        outcome = await commitAsOneStatement(sql, [...protocol, ...audit]);
      } catch (err) {
        if (audit.length === 0) throw err;
        logger.error({ err }, 'token request writes failed with their audit events; retrying without');
        outcome = 'failed';
      }
      if (outcome !== 'ok') {
        // Slow path: find the write that refused (throws RefusedWrite), or store what can be stored.
        await work.commitTokenWritesOneByOne();
        await work.storeAuditWrites(audit);
      }
    } catch (err) {
      ctx.set('cache-control', 'no-store');
      if (err instanceof RefusedWrite) {
        await err.write.mustReturnRow?.refused();
        ctx.status = 400;
        ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
        logger.info(
          { event: 'grant.error', error: 'invalid_grant', detail: err.message },
          'oauth request refused',
        );
        return;
      }
      logger.error({ err }, 'token request writes failed');
      markIfStorageUnavailable(ctx, err);
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'oops! something went wrong' };
    }
  }

  async function resume(ctx: KoaContextWithOIDC, next: () => Promise<unknown>): Promise<void> {
    const work = new UnitOfWork({ sql, logger, kind: 'resume' });
    await work.run(next);
    // A commit that failed with the session save went to oidc-provider's error page, which keeps the
    // redirect to the client it had already set: a 500 never redirects, and its code was rolled back.
    if (ctx.status >= 500) ctx.remove('location');
    try {
      await work.flushRowWrites();
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
  }

  return async function openUnitOfWork(ctx: KoaContextWithOIDC, next: () => Promise<unknown>) {
    if (ctx.method === 'POST' && ctx.path === options.tokenPath) return tokenRequest(ctx, next);
    if (ctx.method === 'GET' && options.resumePath.test(ctx.path)) return resume(ctx, next);
    await next();
  };
}
