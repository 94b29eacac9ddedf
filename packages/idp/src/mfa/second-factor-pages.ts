import { escapeHtml } from '@gatehouse/core';
import { type RenderedPage, renderPage } from '../pages/layout.ts';
import { PASSKEY_SCRIPT, passkeyBlock } from './passkey-script.ts';

/**
 * The hosted pages of the second step of a sign-in: the code form (with a recovery code as the way
 * out), the authenticator setup (QR code and the secret as text), and the recovery codes shown once.
 * Same frame, keyboard order and error announcement as the login page.
 */
interface Common {
  csrf: string;
  abortAction: string;
  error?: string | undefined;
  theme?: string | undefined;
}

function errorBlock(error: string | undefined): { html: string; described: string } {
  return error
    ? {
        html: `<p class="error" id="mfa-error" role="alert">${escapeHtml(error)}</p>`,
        described: ' aria-describedby="mfa-error" aria-invalid="true"',
      }
    : { html: '', described: '' };
}

const codeInput = (described: string) =>
  `<label for="code">Code from your authenticator app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required autofocus${described}>`;

const cancel = (input: Common) => `<form method="post" action="${escapeHtml(input.abortAction)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" class="secondary">Cancel</button>
</form>`;

export function renderCodePage(
  input: Common & { action: string; passkey?: { action: string; optionsAction: string } | undefined },
): RenderedPage {
  const err = errorBlock(input.error);
  const passkey = input.passkey
    ? passkeyBlock({
        ...input.passkey,
        csrf: input.csrf,
        label: 'Use a passkey',
        conditional: false,
        escape: escapeHtml,
      })
    : '';
  const body = `<h1>Two-step verification</h1>
<p class="muted">Enter the six-digit code your authenticator app shows now.</p>
${err.html}
<form method="post" action="${escapeHtml(input.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
${codeInput(err.described)}
<button type="submit">Verify</button>
</form>
<form method="post" action="${escapeHtml(input.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<label for="recoveryCode">Or a recovery code</label>
<input id="recoveryCode" name="recoveryCode" type="text" autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="64" required>
<button type="submit" class="secondary">Use recovery code</button>
</form>
${passkey}
${cancel(input)}`;
  return renderPage({
    title: 'Two-step verification',
    body,
    theme: input.theme,
    ...(input.passkey ? { script: PASSKEY_SCRIPT } : {}),
  });
}

export function renderSetupPage(
  input: Common & { action: string; qrCodeSvg: string; secret: string },
): RenderedPage {
  const err = errorBlock(input.error);
  // The SVG is the qrcode library's output for an otpauth URL built here: markup of our own making.
  const body = `<h1>Set up two-step verification</h1>
<p class="muted">Your account needs a second factor. Scan this code with an authenticator app, then enter the code it shows.</p>
<figure aria-label="QR code of your authenticator secret">${input.qrCodeSvg}</figure>
<p>Or type this key: <code id="totp-secret">${escapeHtml(input.secret)}</code></p>
${err.html}
<form method="post" action="${escapeHtml(input.action)}" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
${codeInput(err.described)}
<button type="submit">Turn on</button>
</form>
${cancel(input)}`;
  return renderPage({ title: 'Set up two-step verification', body, theme: input.theme });
}

export function renderRecoveryCodesPage(input: {
  action: string;
  csrf: string;
  codes: string[];
  theme?: string | undefined;
}): RenderedPage {
  const body = `<h1>Save your recovery codes</h1>
<p>Each code signs you in once if you lose your authenticator. They are shown only now: store them somewhere safe.</p>
<ul id="recovery-codes">${input.codes.map((c) => `<li><code>${escapeHtml(c)}</code></li>`).join('')}</ul>
<form method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(input.csrf)}">
<button type="submit" autofocus>Continue</button>
</form>`;
  return renderPage({ title: 'Save your recovery codes', body, theme: input.theme });
}
