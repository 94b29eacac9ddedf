import type { Logger, Sql } from '@gatehouse/core';
import type { Caller } from './caller-auth.ts';

/** One audited event: who asked, what, the answer, and why. */
export interface AuditEntry {
  caller: Caller | undefined;
  /** The API operation: `check`, `write`, `authzen.evaluation`, ... */
  operation: string;
  storeId?: string | undefined;
  /** What was asked (the tuple, the AuthZEN triple, the tuples written), as sent. */
  request: unknown;
  /** `allowed`, `denied`, `ok`, or `refused` with the error code. */
  outcome: string;
  /** Why: the relation path asked, the model, or the refusal's code and message. */
  reason?: string | undefined;
  status: number;
}

export interface AuditLog {
  decision(entry: AuditEntry): void;
  change(entry: AuditEntry): void;
  refusal(entry: AuditEntry): void;
}

export interface AuditLogOptions {
  logger: Logger;
  /** Share of decisions written (0..1); changes and refusals are always written. */
  decisionSampleRate: number;
  random?: () => number;
  /** Also store each written event in `authz_audit_events` (the authz migrations applied). */
  sql?: Sql | undefined;
}

/** Request bodies above this many bytes of JSON are stored as their size only (a model can be 256 KiB). */
const maxStoredRequestBytes = 8 * 1024;

/**
 * The permission service's audit trail: one structured log line (`audit: "authz"`) per decision,
 * change and refusal, so a log pipeline can answer "who could do what, and who asked".
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  const random = options.random ?? Math.random;
  const store = (kind: string, e: AuditEntry) => {
    const json = JSON.stringify(e.request ?? {});
    const request =
      json.length <= maxStoredRequestBytes ? json : JSON.stringify({ truncated: true, bytes: json.length });
    // After the answer is sent, off the request path; a storage failure is logged, never answered.
    options.sql
      ?.query(
        `insert into authz_audit_events (kind, operation, caller_sub, client_id, store_id, outcome, reason, status, request)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
        [
          kind,
          e.operation,
          e.caller?.subject ?? null,
          e.caller?.clientId ?? null,
          e.storeId ?? null,
          e.outcome,
          e.reason ?? null,
          e.status,
          request,
        ],
      )
      .catch((err: unknown) => options.logger.error({ err }, 'authz audit event not stored'));
  };
  const write = (kind: string, e: AuditEntry) => {
    store(kind, e);
    options.logger.info(
      {
        audit: 'authz',
        kind,
        operation: e.operation,
        caller: e.caller ? { sub: e.caller.subject, clientId: e.caller.clientId } : null,
        storeId: e.storeId,
        request: e.request,
        outcome: e.outcome,
        reason: e.reason,
        status: e.status,
      },
      `authz ${kind}`,
    );
  };
  return {
    decision(e) {
      if (options.decisionSampleRate >= 1 || random() < options.decisionSampleRate) write('decision', e);
    },
    change: (e) => write('change', e),
    refusal: (e) => write('refusal', e),
  };
}
