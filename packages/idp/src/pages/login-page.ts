import { escapeHtml } from '@gatehouse/core';
import { type RenderedPage, renderPage } from './layout.ts';

export interface LoginPageInput {
  action: string;
  abortAction: string;
  csrf: string;
  clientName: string;
  username?: string | undefined;
  /** Shown in a live region and tied to the inputs with aria-describedby. */
  error?: string | undefined;
  theme?: string | undefined;
  /** Passkey sign-in (mfa/passkey-script.ts): the username field offers passkeys, and a button. */
  passkey?: { html: string; script: string } | undefined;
  /** Upstream identity providers (brokering/): one button each, posted to `brokerAction`. */
  providers?: Array<{ id: string; name: string }> | undefined;
  brokerAction?: string | undefined;
}

/**
 * The sign-in form. Keyboard order is the reading order: username, password, Sign in, Cancel.
 * Labels are real <label for>, autocomplete lets password managers fill it, the first field with
 * something to do gets autofocus, and an error is announced (role=alert) and linked to the fields.
 */
export function renderLoginPage(input: LoginPageInput): RenderedPage {
  const err = input.error
    ? `<p class="error" id="login-error" role="alert">${escapeHtml(input.error)}</p>`
    : '';
  const described = input.error ? ' aria-describedby="login-error" aria-invalid="true"' : '';
  const focusUser = input.username ? '' : ' autofocus';
  const focusPassword = input.username ? ' autofocus' : '';
  const body = `<h1>Sign in</h1>
<p class="muted">to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${err}
<form method="post" action="${escapeHtml(input.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="${input.passkey ? 'username webauthn' : 'username'}" autocapitalize="none" spellcheck="false" required maxlength="128" value="${escapeHtml(input.username ?? '')}"${focusUser}${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${focusPassword}${described}>
<button type="submit">Sign in</button>
</form>
${input.passkey?.html ?? ''}
${brokerButtons(input)}<form method="post" action="${escapeHtml(input.abortAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" class="secondary">Cancel</button>
</form>
<p class="muted"><a href="/authentication/recovery/forgot">Forgot your password?</a></p>`;
  return renderPage({
    title: 'Sign in',
    body,
    theme: input.theme,
    ...(input.passkey ? { script: input.passkey.script } : {}),
  });
}

/** One real button per provider (keyboard-usable, its text its label), after the password form. */
function brokerButtons(input: LoginPageInput): string {
  if (!input.providers?.length || !input.brokerAction) return '';
  const buttons = input.providers
    .map(
      (p) =>
        `<button type="submit" name="provider" value="${escapeHtml(p.id)}" class="secondary">Sign in with ${escapeHtml(p.name)}</button>`,
    )
    .join('\n');
  return `<form method="post" action="${escapeHtml(input.brokerAction)}" aria-label="Sign in with another provider">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
${buttons}
</form>
`;
}
