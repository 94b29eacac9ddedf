import { accountServices } from '../accounts/account-services.ts';
import { type AdminRoute, answer, refusal } from '../admin/admin-route.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { IdpRuntime } from '../index.ts';
import { brokeringOf } from './broker-flow.ts';

/**
 * The admin API routes of brokering: the configured providers (from the config file, secrets never
 * shown, with whether each answers now) and a person's linked identities, which an admin can unlink (the last way in stays).
 */
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

export function adminApiBrokering(idp: IdpRuntime): AdminRoute[] {
  const brokering = brokeringOf(idp);
  const { accounts, audit } = accountServices(idp);
  return [
    {
      method: 'GET',
      path: '/brokering/providers',
      summary:
        'Upstream identity providers from the config file (secrets not shown), each with `status: { reachable, error? }`: its discovery document (OIDC) or authorization endpoint fetched now',
      responses: { '200': answer('Providers', { type: 'array', items: { type: 'object' } }) },
      async run({ res }) {
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
    },
    {
      method: 'GET',
      path: '/users/{id}/identities',
      summary: 'Upstream identities linked to the user (brokering)',
      params: { id: 'user id' },
      responses: { '200': answer('Linked identities', { type: 'array', items: { type: 'object' } }) },
      async run({ res, params }) {
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
    },
    {
      method: 'DELETE',
      path: '/users/{id}/identities/{provider}',
      summary: 'Unlink the user\u2019s identity of a provider (never the last way in)',
      params: { id: 'user id', provider: 'provider id' },
      responses: {
        '204': answer('Unlinked'),
        '404': refusal('No such user or identity', 'IDP_NOT_FOUND'),
        '409': refusal('IDP_BROKER_LAST_SIGN_IN', 'IDP_BROKER_LAST_SIGN_IN'),
      },
      async run({ res, params, caller }) {
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
    },
  ];
}
