import { clientAddress } from '@gatehouse/core';
import { sendJson } from '../http/json-response.ts';
import { type AdminChanges, noContent, notFound } from './admin-changes.ts';
import { type AdminRoute, answer, ref } from './admin-route.ts';
import { pageLimit, queryText } from './admin-schemas.ts';

/** First-party sessions: listed, and revoked one by one. */
export function sessionsRoutes(a: AdminChanges): AdminRoute[] {
  const { sessions, trusted } = a;
  return [
    {
      method: 'GET',
      path: '/sessions',
      summary: 'List first-party sessions, newest first',
      query: { userId: queryText, active: { type: 'boolean' }, limit: pageLimit },
      responses: { '200': answer('Sessions', { type: 'array', items: ref('Session') }) },
      async run({ res, query }) {
        sendJson(
          res,
          200,
          await sessions.list({
            userId: query['userId'] as string | undefined,
            activeOnly: query['active'] === true,
            limit: query['limit'] as number | undefined,
          }),
        );
      },
    },
    {
      method: 'DELETE',
      path: '/sessions/{sid}',
      summary: 'Revoke a session: every gateway drops its tokens within a second',
      params: { sid: 'session id' },
      responses: { '204': answer('Revoked') },
      async run({ req, res, params, caller }) {
        const ended = await sessions.end(params['sid']!, 'revoked by admin', {
          actor: caller.actor,
          // The admin's address, not the gateway's: the same rule as every other audit event.
          sourceIp: clientAddress(req, trusted),
        });
        if (!ended) throw notFound('active session');
        noContent(res);
      },
    },
  ];
}
