import { escapeHtml } from '@gatehouse/core';
import { type RenderedPage, renderPage } from '../pages/layout.ts';

/**
 * The page of a first sign-in through a provider: create a new account, or prove that an existing
 * account is yours by signing in to it with its own password, which links the identity to it.
 * Nothing is linked on an email match.
 */
export function renderFirstLoginPage(input: {
  providerName: string;
  proposedUsername: string;
  createAction?: string | undefined;
  linkAction: string;
  csrf: string;
  error?: string | undefined;
  theme?: string | undefined;
}): RenderedPage {
  const err = input.error
    ? `<p class="error" id="link-error" role="alert">${escapeHtml(input.error)}</p>`
    : '';
  const described = input.error ? ' aria-describedby="link-error" aria-invalid="true"' : '';
  const create = input.createAction
    ? `<form method="post" action="${escapeHtml(input.createAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<p>Create a new account, named <strong>${escapeHtml(input.proposedUsername)}</strong> or close to it.</p>
<button type="submit">Create a new account</button>
</form>`
    : '';
  const body = `<h1>First sign-in with ${escapeHtml(input.providerName)}</h1>
${err}
${create}
<h2>Already have an account?</h2>
<p class="muted">Sign in to it once with its own password to link ${escapeHtml(input.providerName)} to it.</p>
<form method="post" action="${escapeHtml(input.linkAction)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="link-username">Username</label>
<input id="link-username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="128"${described}>
<label for="link-password">Password</label>
<input id="link-password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${described}>
<button type="submit" class="secondary">Link to my account</button>
</form>`;
  return renderPage({ title: `First sign-in with ${input.providerName}`, body, theme: input.theme });
}
