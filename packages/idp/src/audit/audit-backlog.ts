import type { Logger, Sql } from '@gatehouse/core';
import { isStorageUnavailable } from '../storage/storage-unavailable.ts';

/** An audit insert: its statement and parameters. */
export interface AuditWrite {
  text: string;
  params: unknown[];
}

/** Events held while the database does not answer, per process; past it the oldest is dropped. */
const MAX_HELD = 10_000;
const RETRY_MS = 2000;

/**
 * Audit events the database could not take because it did not answer (GH_STORAGE_UNAVAILABLE),
 * held in order in this process's memory and stored again every RETRY_MS until it answers.
 *
 * The guarantee: while the process lives, no event is lost to an outage of up to MAX_HELD events;
 * past that the oldest is dropped, with one error log line per dropped event (its type and
 * parameters, so it can still be read from the logs). A process killed with events held loses
 * them (they are only in memory); a graceful stop tries once more to store them.
 */
export interface AuditBacklog {
  /** Store `write`, holding it for later when the database does not answer. */
  store(write: AuditWrite): Promise<void>;
  readonly held: number;
  /** Try to store every held event now. */
  flush(): Promise<void>;
}

const backlogs = new WeakMap<Sql, AuditBacklog>();

/** The backlog of the process's database handle (one per `sql`, shared by every audit writer). */
export function auditBacklogFor(sql: Sql, logger: Logger | undefined): AuditBacklog {
  let backlog = backlogs.get(sql);
  if (!backlog) {
    backlog = createAuditBacklog(sql, logger);
    backlogs.set(sql, backlog);
  }
  return backlog;
}

export function createAuditBacklog(
  sql: Sql,
  logger: Logger | undefined,
  options: { maxHeld?: number; retryMs?: number } = {},
): AuditBacklog {
  const maxHeld = options.maxHeld ?? MAX_HELD;
  const retryMs = options.retryMs ?? RETRY_MS;
  const held: AuditWrite[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  function hold(write: AuditWrite): void {
    held.push(write);
    while (held.length > maxHeld) {
      const dropped = held.shift()!;
      logger?.error(
        { type: dropped.params[0], params: dropped.params },
        'audit event dropped: too many held while storage is down',
      );
    }
    if (held.length === 1)
      logger?.warn('storage does not answer: audit events are held in memory until it does');
    timer ??= setTimeout(() => {
      timer = undefined;
      void flush();
    }, retryMs);
    // Never keeps the process alive by itself; a graceful stop flushes.
    timer.unref();
  }

  function flush(): Promise<void> {
    flushing ??= (async () => {
      try {
        while (held.length > 0) {
          try {
            await sql.query(held[0]!.text, held[0]!.params);
          } catch (err) {
            if (isStorageUnavailable(err)) {
              timer ??= setTimeout(() => {
                timer = undefined;
                void flush();
              }, retryMs);
              timer.unref();
              return;
            }
            logger?.error({ err, type: held[0]!.params[0] }, 'audit event not stored');
          }
          held.shift();
          if (held.length === 0) logger?.info('storage answers again: held audit events stored');
        }
      } finally {
        flushing = undefined;
      }
    })();
    return flushing;
  }

  return {
    async store(write) {
      // Behind held events: keep their order.
      if (held.length > 0) {
        hold(write);
        return;
      }
      try {
        await sql.query(write.text, write.params);
      } catch (err) {
        if (!isStorageUnavailable(err)) throw err;
        hold(write);
      }
    },
    get held() {
      return held.length;
    },
    flush,
  };
}
