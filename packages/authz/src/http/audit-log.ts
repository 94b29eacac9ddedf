import type { Logger } from '@gatehouse/core';
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
}

/**
 * The permission service's audit trail: one structured log line (`audit: "authz"`) per decision,
 * change and refusal, so a log pipeline can answer "who could do what, and who asked".
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  const random = options.random ?? Math.random;
  const write = (kind: string, e: AuditEntry) =>
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
  return {
    decision(e) {
      if (options.decisionSampleRate >= 1 || random() < options.decisionSampleRate) write('decision', e);
    },
    change: (e) => write('change', e),
    refusal: (e) => write('refusal', e),
  };
}
