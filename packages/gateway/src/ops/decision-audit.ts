import type { Logger } from '@gatehouse/core';
import type { GatewayConfig } from '../config-schema.ts';
import type { RouteConfig } from '../contracts.ts';

/**
 * One access decision of the gateway, as the audit trail keeps it. Like the access log, only what
 * cannot carry a credential: no headers, no query, no token; who is the subject and client id the
 * verified token named.
 */
export interface DecisionAuditEntry {
  decision: 'allow' | 'deny';
  /** allow: the route policy that let the request through; deny: the refusal's error code. */
  reason: string;
  route: string;
  method: string;
  path: string;
  status: number;
  requestId: string;
  client: string;
  subject?: string;
  clientId?: string;
}

/** The audit logger: a child of the gateway's logger, so lines go where its logs go. */
export function createDecisionAuditLogger(logger: Logger): Logger {
  return logger.child({ audit: 'gateway' });
}

/** Whether this decision is written, by the sample rates of the configuration in force. */
export function auditSampled(
  config: GatewayConfig['audit'],
  decision: 'allow' | 'deny',
  random: () => number = Math.random,
): boolean {
  const rate = decision === 'allow' ? config.allowSampleRate : config.denySampleRate;
  return rate >= 1 || (rate > 0 && random() < rate);
}

export function writeDecisionAudit(logger: Logger, entry: DecisionAuditEntry): void {
  logger.info({ decision: entry }, `gateway ${entry.decision}`);
}

/** Why a granted request was let through: the kind of its route's policy. */
export function allowReason(route: RouteConfig): string {
  const policy = route.policy;
  if (typeof policy === 'string') return policy;
  if ('roles' in policy) return 'roles';
  if ('scopes' in policy) return 'scopes';
  return 'permission';
}
