import { escapeHtml } from '@gatehouse/core';
import type { MailboxEntry } from '../mail/mailer.ts';
import { type RenderedPage, renderPage } from '../pages/layout.ts';

/**
 * The hosted pages of account recovery: ask for a reset link, choose a new password from the link,
 * the result of an email verification, and the development mailbox. Like every hosted page they carry
 * no script; forms post to the same origin (csrf.ts checks it) and `theme` restyles them.
 */
const emailInputStyle =
  'input[type=email] { width: 100%; padding: 0.65rem 0.75rem; font: inherit; color: var(--gh-text); background: var(--gh-card); border: 1px solid var(--gh-border); border-radius: var(--gh-radius); }';

function page(title: string, body: string, theme: string | undefined): RenderedPage {
  return renderPage({ title, body, theme: `${emailInputStyle}${theme ?? ''}` });
}

function errorBlock(error: { message: string; code: string } | undefined): string {
  return error
    ? `<p class="error" role="alert">${escapeHtml(error.message)}</p>\n<p class="muted">Error code: <code>${escapeHtml(error.code)}</code></p>\n`
    : '';
}

export function forgotPasswordPage(input: {
  theme?: string | undefined;
  error?: { message: string; code: string } | undefined;
  email?: string | undefined;
}): RenderedPage {
  return page(
    'Forgot your password?',
    `<h1>Forgot your password?</h1>
${errorBlock(input.error)}<p>Enter the email address of your account: we send a link to choose a new password.</p>
<form method="post" action="/authentication/recovery/send-reset-link">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="254" value="${escapeHtml(input.email ?? '')}">
<button type="submit">Send the link</button>
</form>`,
    input.theme,
  );
}

/** The same page whether or not an account has the address. */
export function resetLinkSentPage(theme: string | undefined): RenderedPage {
  return page(
    'Check your email',
    `<h1>Check your email</h1>
<p>If an account has this address, a link to choose a new password is on its way. It works once and for a limited time.</p>`,
    theme,
  );
}

export function newPasswordPage(input: {
  token: string;
  theme?: string | undefined;
  error?: { message: string; code: string } | undefined;
}): RenderedPage {
  return page(
    'Choose a new password',
    `<h1>Choose a new password</h1>
${errorBlock(input.error)}<form method="post" action="/authentication/recovery/new-password">
<input type="hidden" name="token" value="${escapeHtml(input.token)}">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required maxlength="1024">
<button type="submit">Set the new password</button>
</form>`,
    input.theme,
  );
}

export function passwordChangedPage(theme: string | undefined): RenderedPage {
  return page(
    'Password changed',
    `<h1>Password changed</h1>
<p>Your new password is set. Every session signed in with the old one has ended: sign in again with the new password.</p>`,
    theme,
  );
}

export function emailVerifiedPage(email: string, theme: string | undefined): RenderedPage {
  return page(
    'Email address confirmed',
    `<h1>Email address confirmed</h1>
<p>${escapeHtml(email)} is now the confirmed address of your account.</p>`,
    theme,
  );
}

/** A link that did not work: what went wrong, and the way to a new link. */
export function recoveryErrorPage(
  title: string,
  error: { message: string; code: string },
  theme: string | undefined,
): RenderedPage {
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>
${errorBlock(error)}<p><a href="/authentication/recovery/forgot">Ask for a new password reset link</a></p>`,
    theme,
  );
}

export function devMailboxPage(mails: readonly MailboxEntry[], theme: string | undefined): RenderedPage {
  const urls = /https?:\/\/[^\s<>"]+/g;
  const items = mails
    .map((m) => {
      const links = [...new Set(m.text.match(urls) ?? [])]
        .map((u) => `<li><a href="${escapeHtml(u)}">${escapeHtml(u)}</a></li>`)
        .join('');
      return `<article>
<h2>${escapeHtml(m.subject)}</h2>
<p class="muted">To ${escapeHtml(m.to)}, ${escapeHtml(m.at.toISOString())}</p>
<pre>${escapeHtml(m.text)}</pre>
${links ? `<ul>${links}</ul>` : ''}
</article>`;
    })
    .join('\n');
  return page(
    'Development mailbox',
    `<h1>Development mailbox</h1>
<p class="muted">Mail the identity provider sent, newest first. Development mode only: with idp.mail.smtp set, mail goes to that server instead.</p>
${items || '<p>No mail yet.</p>'}`,
    `pre { white-space: pre-wrap; overflow-wrap: anywhere; } h2 { font-size: 1.1rem; } ${theme ?? ''}`,
  );
}
