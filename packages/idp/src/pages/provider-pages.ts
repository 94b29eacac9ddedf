import { escapeHtml } from '@gatehouse/core';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { type RenderedPage, renderPage } from './layout.ts';
import { renderMessagePage } from './message-page.ts';

/**
 * The pages oidc-provider renders itself, in the hosted pages' look: the RP-initiated logout
 * confirmation (`features.rpInitiatedLogout.logoutSource`), the signed-out page
 * (`postLogoutSuccessSource`) and the error page (`renderError`). Plug them in through
 * `createIdp({ pages: providerPages() })`.
 *
 * The error page never redirects and never links to a client-supplied URL: an unregistered
 * redirect_uri must not be followed (open redirect), so the user only reads what went wrong.
 */
function send(ctx: KoaContextWithOIDC, page: RenderedPage, status?: number): void {
  for (const [name, value] of Object.entries(page.headers)) ctx.set(name, value);
  if (status !== undefined) ctx.status = status;
  ctx.body = page.html;
}

const errorText: Record<string, string> = {
  invalid_request: 'The sign-in request is not valid.',
  invalid_client: 'The application asking you to sign in is not known here.',
  invalid_redirect_uri: 'The application asked to send you to an address it did not register.',
  unauthorized_client: 'This application may not sign you in this way.',
  access_denied: 'Access was denied.',
  invalid_scope: 'The application asked for a permission that does not exist.',
  login_required: 'You need to sign in first.',
  server_error: 'Something went wrong on our side. Please try again later.',
};

export function providerPages(options: { theme?: string } = {}) {
  const theme = options.theme;
  return {
    async logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
      const client = ctx.oidc.client;
      const name = client?.clientName ?? client?.clientId;
      // `form` is oidc-provider's own hidden form (id op.logoutForm, with its xsrf token).
      const body = `<h1>Sign out?</h1>
<p>${name ? `Sign out of ${escapeHtml(name)} and this identity provider?` : 'Sign out of this identity provider?'}</p>
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`;
      send(ctx, renderPage({ title: 'Sign out', body, theme }));
    },

    async postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
      send(ctx, renderMessagePage({ title: 'Signed out', message: 'You are signed out.', theme }));
    },

    async renderError(
      ctx: KoaContextWithOIDC,
      out: { error: string; error_description?: string },
      _error: Error,
    ): Promise<void> {
      const message =
        errorText[out.error] ?? out.error_description ?? 'The sign-in request cannot be completed.';
      const page = renderMessagePage({ title: 'Sign-in error', message, code: out.error, theme });
      send(ctx, page);
    },
  };
}
