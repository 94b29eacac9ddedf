import type { IncomingMessage, ServerResponse } from 'node:http';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { brokeringOf } from './broker-flow.ts';

/**
 * The admin API routes of brokering: the configured providers (from the config file, secrets never
 * shown) and a person's linked identities, which an admin can unlink (the last way in stays).
 */
type Run = (ctx: {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  caller: { actor: string };
}) => Promise<void>;

export function adminApiBrokering(idp: IdpRuntime): Array<[string, string, Run]> {
  const brokering = brokeringOf(idp);
  const { accounts, audit } = accountServices(idp);
  return [
    [
      'GET',
      '/brokering/providers',
      async ({ res }) => {
        sendJson(
          res,
          200,
          brokering.config.providers.map(({ clientSecret, ...shown }) => ({
            ...shown,
            confidential: clientSecret !== undefined,
            redirectUri: brokering.callbackUrl,
          })),
        );
      },
    ],
    [
      'GET',
      '/users/{id}/identities',
      async ({ res, params }) => {
        if (!(await accounts.get(params['id']!))) throw idpErrors.create('IDP_NOT_FOUND', 'No such user');
        const linked = await brokering.identities.listOf(params['id']!);
        sendJson(
          res,
          200,
          linked.map((l) => ({
            provider: l.provider,
            subject: l.subject,
            upstreamUsername: l.upstreamUsername,
            linkedAt: l.linkedAt.toISOString(),
          })),
        );
      },
    ],
    [
      'DELETE',
      '/users/{id}/identities/{provider}',
      async ({ res, params, caller }) => {
        if (!(await accounts.get(params['id']!))) throw idpErrors.create('IDP_NOT_FOUND', 'No such user');
        const removed = await brokering.identities.unlink(params['id']!, params['provider']!);
        await audit.record({
          type: 'broker.unlinked',
          actor: caller.actor,
          subject: params['id'],
          details: { provider: removed.provider, upstreamSubject: removed.subject, via: 'admin-api' },
        });
        sendJson(res, 204, undefined);
      },
    ],
  ];
}
