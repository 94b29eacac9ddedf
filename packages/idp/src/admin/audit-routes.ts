import type { AuditEventType } from '../audit/audit.ts';
import { sendJson } from '../http/json-response.ts';
import type { AdminChanges } from './admin-changes.ts';
import { type AdminRoute, answer, ref } from './admin-route.ts';
import { dateTime, pageLimit, queryText } from './admin-schemas.ts';

/** The audit trail, queried newest first. */
export function auditRoutes(a: AdminChanges): AdminRoute[] {
  const { audit } = a;
  return [
    {
      method: 'GET',
      path: '/audit',
      summary: 'Query audit events, newest first',
      query: {
        type: queryText,
        actor: queryText,
        subject: queryText,
        clientId: queryText,
        since: dateTime,
        until: dateTime,
        beforeId: { type: 'integer', minimum: 0, maximum: 999_999_999 },
        limit: pageLimit,
      },
      responses: { '200': answer('Events', { type: 'array', items: ref('AuditEvent') }) },
      async run({ res, query }) {
        sendJson(
          res,
          200,
          await audit.query({
            type: query['type'] as AuditEventType | undefined,
            actor: query['actor'] as string | undefined,
            subject: query['subject'] as string | undefined,
            clientId: query['clientId'] as string | undefined,
            since: query['since'] as Date | undefined,
            until: query['until'] as Date | undefined,
            beforeId: query['beforeId'] as number | undefined,
            limit: query['limit'] as number | undefined,
          }),
        );
      },
    },
  ];
}
