import { Counter, type Registry } from '@gatehouse/core';
import type { AuditEventType } from './audit.ts';

/**
 * `gatehouse_idp_audit_events_total{type}`: every audit event counted by type, so failed logins
 * (`login.failed`), lockouts and refresh-token reuse (`refresh.reuse_detected`) can be graphed and
 * alerted on without reading the audit table. Returns the callback `createAudit` takes as `onRecord`.
 */
export function auditEventCounter(registry: Registry): (type: AuditEventType) => void {
  const counter = new Counter({
    name: 'gatehouse_idp_audit_events_total',
    help: 'Audit events recorded by the identity provider, by type (login.failed, refresh.reuse_detected, ...)',
    labelNames: ['type'],
    registers: [registry],
  });
  return (type) => counter.inc({ type });
}
