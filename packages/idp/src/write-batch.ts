import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger, Sql } from '@gatehouse/core';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { groupWhileBusy } from './group-while-busy.ts';

/**
 * One database transaction per token request. A refresh used to commit three times (consume the old
 * refresh token, store the rotated one, record the new JWT access token) plus the audit event, and
 * each commit waits for the disk. Within a token request those writes are collected here and
 * committed together, after oidc-provider has built the answer and before the answer leaves.
 *
 * What stays the same:
 * - Single use: the consume is still a conditional UPDATE (`consumed_at is null`), now the first
 *   statement of the transaction. When another request consumed the token first, the transaction is
 *   rolled back (the rotated token and the JWT record are never stored), the grant is revoked, and
 *   the answer becomes `invalid_grant` — as when the conditional UPDATE ran on its own.
 * - A write that requires its grant (rotated refresh token, JWT record) still refuses when the grant
 *   is gone: rollback and `invalid_grant`.
 * - Durability: nothing is answered before the commit; a failed commit answers `server_error`.
 * - A failed audit insert never fails a token request: the transaction is retried without the audit
 *   events, which are then stored on their own.
 * Error answers commit no protocol write (oidc-provider refused the request), only audit events.
 * Requests with audit events only (client credentials, error answers) share statements: group
 * commit, see `recordAuditGrouped`; each still answers after its events are stored.
 * Only the token endpoint batches; every other request writes as before (hand-rolled because
 * oidc-provider's adapter port has no notion of a request or a transaction).
 */

export interface BatchedWrite {
  text: string;
  params: unknown[];
  /** The statement must return a row; otherwise the batch is refused with `refused()`. */
  mustReturnRow?: { refused: () => Promise<void> | void; description: string };
  /**
   * Writes that carry the same `combine` may be stored together as the one statement it builds from
   * their params (for a text that does not depend on how many there are: one prepared plan).
   */
  combine?: (params: unknown[][]) => { text: string; params: unknown[] };
}

interface Batch {
  protocol: BatchedWrite[];
  audit: BatchedWrite[];
}

const storage = new AsyncLocalStorage<Batch>();

/**
 * The token request being served (an opaque key, the same object for the whole request), or
 * undefined outside one: adapter.ts keys what it read ahead within a request by it.
 */
export function currentTokenRequest(): object | undefined {
  return storage.getStore();
}

/** Queue a protocol write when inside a batched request; false when the caller must write itself. */
export function deferProtocolWrite(write: BatchedWrite): boolean {
  const batch = storage.getStore();
  if (!batch) return false;
  batch.protocol.push(write);
  return true;
}

/** Queue an audit insert when inside a batched request; false when the caller must write itself. */
export function deferAuditWrite(write: BatchedWrite): boolean {
  const batch = storage.getStore();
  if (!batch) return false;
  batch.audit.push(write);
  return true;
}

function isDivisionByZero(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (e.code === '22012' || (typeof e.message === 'string' && /division by zero/.test(e.message)))
      return true;
  }
  return false;
}

/** Most audit inserts in one grouped statement: bounds its parameters and its distinct texts. */
const MAX_GROUPED_WRITES = 32;

class Refused extends Error {
  readonly write: BatchedWrite;
  constructor(write: BatchedWrite) {
    super(write.mustReturnRow?.description ?? 'refused');
    this.write = write;
  }
}

/** Koa middleware to `provider.use()`: batches the writes of requests to `tokenPath`. */
export function tokenWriteBatchMiddleware(options: { sql: Sql; logger: Logger; tokenPath: string }) {
  const { sql, logger } = options;

  /** Audit inserts on their own, outside the transaction: a failure is logged, never answered. */
  async function recordAudit(writes: BatchedWrite[]): Promise<void> {
    for (const w of writes) {
      try {
        await sql.query(w.text, w.params);
      } catch (err) {
        logger.error({ err }, 'audit event not stored');
      }
    }
  }

  /**
   * The fast path: every write of the request as one statement (data-modifying CTEs), so one round
   * trip, one plan and one commit. A write that must return a row and returns none makes the final
   * select divide by zero, which fails the whole statement: nothing is stored. The slow path then
   * finds out which write refused (`commit`).
   */
  async function commitAsOneStatement(writes: BatchedWrite[]): Promise<'ok' | 'refused'> {
    const params: unknown[] = [];
    const ctes: string[] = [];
    const guards: string[] = [];
    for (const [i, w] of writes.entries()) {
      const offset = params.length;
      params.push(...w.params);
      // Every batched statement names its parameters $1..$n only (no `$` in literals).
      ctes.push(`w${i} as (${w.text.replace(/\$(\d+)/g, (_m, n: string) => `$${Number(n) + offset}`)})`);
      if (w.mustReturnRow) guards.push(`(select count(*) from w${i})`);
    }
    const check = guards.length === 0 ? '1' : `1 / least(${guards.join(', ')}, 1)`;
    try {
      await sql.query(`with ${ctes.join(',\n')} select ${check} as ok`, params);
      return 'ok';
    } catch (err) {
      if (isDivisionByZero(err)) return 'refused';
      throw err;
    }
  }

  /**
   * Group commit of the audit events of token requests without protocol writes (client credentials,
   * refused requests), which would otherwise cost each request a statement and a commit of their
   * own (about a third of the CPU of a client-credentials grant in the idp process). While one
   * statement is in flight, the events of the requests that end meanwhile wait and go together in
   * the next one; an idle server writes at once. Each request still answers only once its events are
   * stored (or their failure logged), as before. When the grouped statement fails, each request's
   * events are stored on their own, so one bad event neither loses nor delays the others' beyond that.
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
          await commitAsOneStatement(writes);
        }
      } catch (err) {
        logger.error({ err, requests: group.length }, 'grouped audit events failed; storing each on its own');
        await Promise.all(group.map((g) => recordAudit(g.writes)));
      }
      for (const g of group) g.done();
    },
  });

  function recordAuditGrouped(writes: BatchedWrite[]): Promise<void> {
    return new Promise((done) => enqueueAudit({ writes, done }));
  }

  /**
   * The slow path: the writes in one transaction, in order, checking each; throws Refused for the
   * first that must return a row and returns none (rolling the others back).
   */
  async function commit(writes: BatchedWrite[]): Promise<void> {
    await sql.transaction(async (tx) => {
      for (const w of writes) {
        const rows = await tx.query(w.text, w.params);
        if (w.mustReturnRow && rows.length === 0) throw new Refused(w);
      }
    });
  }

  return async function tokenWriteBatch(ctx: KoaContextWithOIDC, next: () => Promise<unknown>) {
    if (ctx.method !== 'POST' || ctx.path !== options.tokenPath) {
      await next();
      return;
    }
    const batch: Batch = { protocol: [], audit: [] };
    await storage.run(batch, next);
    if (batch.protocol.length === 0 && batch.audit.length === 0) return;
    if (ctx.status < 200 || ctx.status >= 300 || batch.protocol.length === 0) {
      // An error answer commits no protocol write (oidc-provider refused the request), only events.
      if (batch.audit.length > 0) await recordAuditGrouped(batch.audit);
      return;
    }
    try {
      let outcome: 'ok' | 'refused' | 'failed';
      try {
        outcome = await commitAsOneStatement([...batch.protocol, ...batch.audit]);
      } catch (err) {
        // An audit insert must not fail a token request: the protocol writes alone, then the events.
        if (batch.audit.length === 0) throw err;
        logger.error({ err }, 'token request writes failed with their audit events; retrying without');
        outcome = 'failed';
      }
      if (outcome !== 'ok') {
        // Slow path: find the write that refused (throws Refused), or store what can be stored.
        await commit(batch.protocol);
        await recordAudit(batch.audit);
      }
    } catch (err) {
      ctx.set('cache-control', 'no-store');
      if (err instanceof Refused) {
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
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'oops! something went wrong' };
    }
  };
}
