import type { IncomingMessage, ServerResponse } from 'node:http';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { brokeringOf } from './broker-flow.ts';

/**
 * The admin API routes of brokering: the configured providers (from the config file, secrets never
 * shown, with whether each answers now) and a person's linked identities, which an admin can unlink (the last way in stays).
 */
type Run = (ctx: {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  caller: { actor: string };
}) => Promise<void>;

/**
 * Whether the provider answers now: an OpenID provider's discovery document, else its authorization
 * endpoint, fetched with a short timeout (any HTTP answer below 500 counts as reachable for the latter).
 */
async function providerStatus(p: {
  type: string;
  issuer?: string | undefined;
  authorizationEndpoint?: string | undefined;
}): Promise<{ reachable: boolean; error?: string }> {
  const oidc = p.type === 'oidc' && p.issuer;
  const url = oidc
    ? `${p.issuer!.replace(/\/$/, '')}/.well-known/openid-configuration`
    : p.authorizationEndpoint;
  if (!url) return { reachable: false, error: 'no endpoint configured' };
  try {
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    const ok = oidc ? res.ok : res.status < 500;
    return ok ? { reachable: true } : { reachable: false, error: `HTTP ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return { reachable: false, error: cause?.code ?? (err as Error).name };
  }
}

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
          await Promise.all(
            brokering.config.providers.map(async ({ clientSecret, ...shown }) => ({
              ...shown,
              confidential: clientSecret !== undefined,
              redirectUri: brokering.callbackUrl,
              status: await providerStatus(shown),
            })),
          ),
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
