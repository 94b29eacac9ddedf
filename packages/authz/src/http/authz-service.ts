import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, Sql, TraceSpan } from '@gatehouse/core';
import type { Authz } from '../authz.ts';
import { type AuditEntry, createAuditLog } from './audit-log.ts';
import { createAuthzenHandler, isAuthzenPath } from './authzen-api.ts';
import { type AccessTokenVerifier, type AdminCallers, createCallerAuth } from './caller-auth.ts';
import { createOpenfgaHandler } from './openfga-api.ts';

export interface AuthzServiceOptions {
  authz: Authz;
  logger: Logger;
  /** Verifies callers' service tokens (the SDK's verifier, against the idp's JWKS). */
  verifier: AccessTokenVerifier;
  readScope: string;
  writeScope: string;
  /** Administrators' tokens (the admin console's), off unless given. */
  admins?: AdminCallers | undefined;
  /** The service's URL as callers reach it (AuthZEN metadata). */
  baseUrl: string | (() => string);
  defaultStoreId?: string | undefined;
  /** Share of decisions written to the audit log (0..1). */
  decisionSampleRate: number;
  /** Also store audit events in `authz_audit_events`. */
  auditSql?: Sql | undefined;
}

/** Operations that answer a permission question: audited as decisions (sampled). */
const decisionOperations = new Set([
  'check',
  'batch-check',
  'list-objects',
  'streamed-list-objects',
  'list-users',
  'expand',
  'authzen.evaluation',
  'authzen.evaluations',
  'authzen.subject',
  'authzen.resource',
  'authzen.action',
]);

/**
 * The permission service's request handler: the OpenFGA HTTP API and the AuthZEN API, both behind the
 * caller check, every decision and change written to the audit log. Given the request's span (core's
 * `traceRequests`), the handler names on it the operation and the decision: allow or deny, and a
 * refusal's code; never the question's subject or object, which may name a person.
 */
export function createAuthzService(
  options: AuthzServiceOptions,
): (req: IncomingMessage, res: ServerResponse, span?: TraceSpan) => Promise<void> {
  const callers = createCallerAuth(options);
  const spans = new WeakMap<IncomingMessage, TraceSpan>();
  const audit = createAuditLog({
    logger: options.logger,
    decisionSampleRate: options.decisionSampleRate,
    sql: options.auditSql,
  });

  const record = (
    req: IncomingMessage,
    o: {
      operation: string;
      access?: 'read' | 'write';
      storeId: string | undefined;
      body: unknown;
      status: number;
      answer?: unknown;
      error?: { code: string; message: string };
    },
  ) => {
    const entry: AuditEntry = {
      caller: callers.callerOf(req),
      operation: o.operation,
      storeId: o.storeId,
      request: o.body,
      status: o.status,
      outcome: o.error ? 'refused' : outcomeOf(o.answer),
      reason: o.error ? `${o.error.code}: ${o.error.message}` : undefined,
    };
    const span = spans.get(req);
    if (span) {
      const outcome = entry.outcome;
      span.set({
        'gatehouse.authz.operation': o.operation,
        ...(o.storeId ? { 'gatehouse.authz.store_id': o.storeId } : {}),
        ...(o.error
          ? { 'gatehouse.decision': 'deny', 'gatehouse.decision.reason': o.error.code }
          : outcome === 'allowed' || outcome === 'denied'
            ? {
                'gatehouse.decision': outcome === 'allowed' ? 'allow' : 'deny',
                'gatehouse.decision.reason': outcome === 'allowed' ? 'relation' : 'no-relation',
              }
            : {}),
      });
    }
    if (o.error) audit.refusal(entry);
    else if (decisionOperations.has(o.operation)) audit.decision(entry);
    else if (o.access === 'write') audit.change(entry);
  };

  const openfga = createOpenfgaHandler({
    authz: options.authz,
    logger: options.logger,
    authorize: (req, access) => callers.authorize(req, access).then(() => undefined),
    onOutcome: record,
  });
  const authzen = createAuthzenHandler({
    authz: options.authz,
    logger: options.logger,
    baseUrl: options.baseUrl,
    defaultStoreId: options.defaultStoreId,
    authorize: (req, access) => callers.authorize(req, access),
    onOutcome: record,
  });
  return (req, res, span) => {
    if (span) spans.set(req, span);
    const path = new URL(req.url ?? '/', 'http://authz.invalid').pathname;
    return isAuthzenPath(path) ? authzen(req, res) : openfga(req, res);
  };
}

/** The answer in one word: `allowed` / `denied` for a check or evaluation, else `ok`. */
function outcomeOf(answer: unknown): string {
  if (answer && typeof answer === 'object') {
    const a = answer as Record<string, unknown>;
    if (typeof a['allowed'] === 'boolean') return a['allowed'] ? 'allowed' : 'denied';
    if (typeof a['decision'] === 'boolean') return a['decision'] ? 'allowed' : 'denied';
  }
  return 'ok';
}
