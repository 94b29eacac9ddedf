import { escapeHtml } from '@gatehouse/core';
import { type RenderedPage, renderPage } from './layout.ts';

export interface ConsentPageInput {
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  username: string;
  scopes: string[];
  /** Resource indicator → scopes asked for it. */
  resources: Record<string, string[]>;
  theme?: string | undefined;
}

const scopeText: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your username',
  email: 'See your email address',
  offline_access: 'Stay connected while you are not using it',
};

/** What a third-party client asks for, in plain words, with Allow first in the keyboard order. */
export function renderConsentPage(input: ConsentPageInput): RenderedPage {
  const items = input.scopes.map(
    (s) => `<li>${escapeHtml(scopeText[s] ?? `Use the permission “${s}”`)}</li>`,
  );
  for (const [resource, scopes] of Object.entries(input.resources)) {
    items.push(
      `<li>Call <code>${escapeHtml(resource)}</code> on your behalf (${escapeHtml(scopes.join(', '))})</li>`,
    );
  }
  const body = `<h1>Allow access?</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> asks to:</p>
<ul>${items.join('')}</ul>
<p class="muted">Signed in as ${escapeHtml(input.username)}.</p>
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" autofocus>Allow</button>
</form>
<form method="post" action="${escapeHtml(input.abortAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" class="secondary">Deny</button>
</form>`;
  return renderPage({ title: 'Allow access', body, theme: input.theme });
}
