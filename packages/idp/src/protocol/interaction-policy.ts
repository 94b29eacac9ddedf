import { interactionPolicy } from 'oidc-provider';
import { ACR_MFA, requestsMfa } from '../mfa/acr.ts';

/**
 * oidc-provider's prompts (login, consent) with one more login check: a session whose account can
 * no longer be loaded — disabled or deleted since it signed in, between the login form and the
 * resume or on a later SSO visit — asks for a new login (`login_required` under `prompt=none`).
 * Without it oidc-provider goes on with no account and no grant, and its consent check failed with a
 * TypeError: a 500 instead of a login page.
 */
export function gatehouseInteractionPolicy(): interactionPolicy.DefaultPolicy {
  const policy = interactionPolicy.base();
  policy
    .get('login')!
    .checks.add(
      new interactionPolicy.Check(
        'account_unavailable',
        'The account of this session is no longer available',
        'login_required',
        (ctx) => Boolean(ctx.oidc.session?.accountId) && ctx.oidc.account === undefined,
      ),
    );
  // `acr_values` asking for the MFA level (docs/mfa.md): a session below it signs in again, and the
  // sign-in then asks for a second factor (mfa/interaction-second-factor.ts).
  policy
    .get('login')!
    .checks.add(
      new interactionPolicy.Check(
        'acr_mfa_required',
        'A sign-in with a second factor is required',
        'login_required',
        (ctx) => requestsMfa(ctx.oidc.params?.['acr_values']) && ctx.oidc.session?.acr !== ACR_MFA,
      ),
    );
  return policy;
}
