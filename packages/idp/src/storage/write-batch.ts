import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger, Sql } from '@gatehouse/core';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { auditBacklogFor } from '../audit/audit-backlog.ts';
import { groupWhileBusy } from './group-while-busy.ts';
import { markIfStorageUnavailable } from './storage-unavailable.ts';

/**
 * One database transaction per token request. A refresh used to commit three times (consume the old
 * refresh token, store the rotated one, record the new JWT access token) plus the audit event, and
 * a code redemption twice (consume the code, record the JWT access token); each commit waits for
 * the disk. Within a token request those writes are collected here and
 * committed together, after oidc-provider has built the answer and before the answer leaves.
 *
 * What stays the same:
 * - Single use: the consume (refresh token or code) is still a conditional UPDATE (`consumed_at is
 *   null`), now the first statement of the transaction. When another request consumed the token first, the transaction is
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
 * Besides the token endpoint only the authorization resume batches (resume-write-batch.ts); every
 * other request writes as before (hand-rolled because oidc-provider's adapter port has no notion of
 * a request or a transaction).
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
  /** Only audit events are held back (`holdAuditWrites`): not a token request. */
  auditOnly?: boolean;
}

const storage = new AsyncLocalStorage<Batch>();

/**
 * The token request being served (an opaque key, the same object for the whole request), or
 * undefined outside one: adapter.ts keys what it read ahead within a request by it.
 */
export function currentTokenRequest(): object | undefined {
  const batch = storage.getStore();
  return batch?.auditOnly ? undefined : batch;
}

/** Queue a protocol write when inside a batched request; false when the caller must write itself. */
export function deferProtocolWrite(write: BatchedWrite): boolean {
  const batch = storage.getStore();
  if (!batch || batch.auditOnly) return false;
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

/**
 * Every write as one statement (data-modifying CTEs), so one round trip, one plan and one commit. A
 * write that must return a row and returns none makes the final select divide by zero, which fails
 * the whole statement: nothing is stored ('refused'; the caller finds out which write refused).
 */
export async function commitAsOneStatement(sql: Sql, writes: BatchedWrite[]): Promise<'ok' | 'refused'> {
  const guards = writes.flatMap((w, i) => (w.mustReturnRow ? [`(select count(*) from w${i})`] : []));
  const check = guards.length === 0 ? '1' : `1 / least(${guards.join(', ')}, 1)`;
  const statement = asOneStatement(writes, `${check} as ok`);
  try {
    await sql.query(statement.text, statement.params);
    return 'ok';
  } catch (err) {
    if (isDivisionByZero(err)) return 'refused';
    throw err;
  }
}

/**
 * The writes as data-modifying CTEs `w0`, `w1`, … of one statement that ends with `select <select>`
 * (which may read what they return).
 */
export function asOneStatement(writes: BatchedWrite[], select: string): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  const ctes: string[] = [];
  for (const [i, w] of writes.entries()) {
    const offset = params.length;
    params.push(...w.params);
    ctes.push(`w${i} as (${shiftedParameters(w.text, offset)})`);
  }
  return { text: `with ${ctes.join(',\n')} select ${select}`, params };
}

/** Renumbered texts by text and offset: the idp batches few distinct texts, at few offsets. */
const shifted = new Map<string, Map<number, string>>();

/**
 * `text` with its parameters $1..$n renumbered to follow `offset` others. Every batched statement
 * names its parameters $1..$n only (no `$` in literals). Each text and offset is renumbered once,
 * not on every token request; the table is emptied should it ever grow past 1,000 texts.
 */
function shiftedParameters(text: string, offset: number): string {
  if (offset === 0) return text;
  let byOffset = shifted.get(text);
  if (byOffset === undefined) {
    if (shifted.size >= 1000) shifted.clear();
    byOffset = new Map();
    shifted.set(text, byOffset);
  }
  let out = byOffset.get(offset);
  if (out === undefined) {
    out = text.replace(/\$(\d+)/g, (_m, n: string) => `$${Number(n) + offset}`);
    byOffset.set(offset, out);
  }
  return out;
}

/**
 * Audit inserts on their own, each in its own statement: a failure is logged, never thrown; while
 * the database does not answer they are held and stored again (audit-backlog.ts).
 */
export async function storeAuditWrites(sql: Sql, logger: Logger, writes: BatchedWrite[]): Promise<void> {
  const backlog = auditBacklogFor(sql, logger);
  for (const w of writes) {
    try {
      await backlog.store({ text: w.text, params: w.params });
    } catch (err) {
      logger.error({ err }, 'audit event not stored');
    }
  }
}

/**
 * Run `fn` (a password check) holding back the audit events it records (audit.ts defers them here),
 * for the caller to store with its own next write in one statement (the login form: with the
 * interaction's result). When `fn` throws, its events are stored before the error goes on, as they
 * were before. The caller must store the events it gets (`storeAuditWrites` at the latest) before it
 * answers.
 */
export async function holdAuditWrites<T>(
  sql: Sql,
  logger: Logger,
  fn: () => Promise<T>,
): Promise<{ result: T; audit: BatchedWrite[] }> {
  const batch: Batch = { protocol: [], audit: [], auditOnly: true };
  try {
    const result = await storage.run(batch, fn);
    return { result, audit: batch.audit };
  } catch (err) {
    await storeAuditWrites(sql, logger, batch.audit);
    throw err;
  }
}

/** Koa middleware to `provider.use()`: batches the writes of requests to `tokenPath`. */
export function tokenWriteBatchMiddleware(options: { sql: Sql; logger: Logger; tokenPath: string }) {
  const { sql, logger } = options;

  /** Audit inserts on their own, outside the transaction: a failure is logged, never answered. */
  const recordAudit = (writes: BatchedWrite[]) => storeAuditWrites(sql, logger, writes);

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
          await commitAsOneStatement(sql, writes);
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
        outcome = await commitAsOneStatement(sql, [...batch.protocol, ...batch.audit]);
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
      markIfStorageUnavailable(ctx, err);
      ctx.status = 500;
      ctx.body = { error: 'server_error', error_description: 'oops! something went wrong' };
    }
  };
}
