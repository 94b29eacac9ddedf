import { escapeHtml as e } from '@gatehouse/core';
import type { PasskeySummary } from '../mfa/passkeys.ts';
import type { SecondFactorStatus } from '../mfa/second-factors.ts';
import { type RenderedPage, renderPage } from '../pages/layout.ts';
import { ACCOUNT_PASSKEY_SCRIPT } from './account-passkey-script.ts';
import type { ActiveSession, Consent, Profile } from './self-service.ts';

/**
 * The account page's HTML: one page with a section per concern, every action a plain form (no script
 * needed but for adding a passkey), a refused input shown at its field with its code, and the
 * notice of a change done in a live region. Lists, not tables, so that a phone-wide window or 200 %
 * zoom reflows them without sideways scrolling.
 */
export interface FieldError {
  code: string;
  message: string;
}

export interface AccountView {
  base: string;
  csrf: string;
  profile: Profile;
  factors: SecondFactorStatus;
  passkeys: PasskeySummary[];
  identities?:
    | {
        providers: Array<{ id: string; name: string }>;
        linked: Array<{ provider: string; upstreamUsername: string | null; linkedAt: string }>;
      }
    | undefined;
  sessions: ActiveSession[];
  consents: Consent[];
  /** A fixed notice key (`?done=`), never text from the request. */
  done?: string | undefined;
  /** The refused form: its field errors, and what was typed (never a password). */
  errors?: Record<string, FieldError> | undefined;
  values?: Record<string, string> | undefined;
  theme?: string | undefined;
}

export const NOTICES: Record<string, string> = {
  'email-sent': 'A link is on its way to the new address: the change takes effect when you open it.',
  'email-changed': 'Email address changed.',
  password: 'Password changed.',
  'totp-removed': 'Authenticator app removed.',
  'passkey-added': 'Passkey added.',
  'passkey-renamed': 'Passkey renamed.',
  'passkey-removed': 'Passkey removed.',
  linked: 'Provider linked: you can sign in with it.',
  unlinked: 'Provider unlinked.',
  'session-ended': 'Session signed out.',
  'others-ended': 'Every other session is signed out.',
  revoked: 'Access revoked.',
};

export const accountStyles = `
main { max-width: 46rem; }
header.top { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: baseline; justify-content: space-between; }
header.top form button { width: auto; margin: 0; }
nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; padding: 0; list-style: none; }
section { border-top: 1px solid var(--gh-border); padding-top: 1rem; margin-top: 1.5rem; }
h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
a { color: var(--gh-accent); }
input[type=email] { width: 100%; padding: 0.65rem 0.75rem; font: inherit; color: var(--gh-text); background: var(--gh-card); border: 1px solid var(--gh-border); border-radius: var(--gh-radius); }
button.inline { width: auto; margin-top: 0.75rem; }
ul.items { list-style: none; padding: 0; margin: 0; }
ul.items > li { border: 1px solid var(--gh-border); border-radius: var(--gh-radius); padding: 0.75rem; margin: 0 0 0.75rem; }
ul.items form { display: inline-block; margin-right: 0.5rem; }
ul.codes { columns: 2 10rem; font-family: ui-monospace, monospace; font-size: 1.05rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0 0 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
.notice { border-left: 4px solid var(--gh-accent); padding-left: 0.75rem; font-weight: 600; }
.field-error { color: var(--gh-danger); font-weight: 600; margin: 0.25rem 0 0; }
.badge { font-size: 0.85rem; border: 1px solid var(--gh-border); border-radius: 1rem; padding: 0 0.5rem; }
figure { margin: 1rem 0; background: #fff; display: inline-block; padding: 0.5rem; }
`;

/** A labelled input with its error (if any) tied to it by aria-describedby. */
function field(
  view: Pick<AccountView, 'errors' | 'values'>,
  input: { form: string; name: string; label: string; type: string; autocomplete: string; max: number },
): string {
  const id = `${input.form}-${input.name}`;
  const error = view.errors?.[input.name];
  const keep = input.type === 'password' ? '' : (view.values?.[input.name] ?? '');
  const described = error ? ` aria-describedby="${id}-error" aria-invalid="true"` : '';
  return `<label for="${id}">${e(input.label)}</label>
<input id="${id}" name="${e(input.name)}" type="${input.type}" autocomplete="${input.autocomplete}" maxlength="${input.max}" required value="${e(keep)}"${described}>
${error ? `<p class="field-error" id="${id}-error">${e(error.message)} (<code>${e(error.code)}</code>)</p>` : ''}`;
}

/** A form with one button and hidden fields: every one-click action of the page. */
function action(
  view: AccountView,
  path: string,
  label: string,
  hidden: Record<string, string> = {},
  cls = 'secondary inline',
): string {
  const fields = Object.entries(hidden)
    .map(([k, v]) => `<input type="hidden" name="${e(k)}" value="${e(v)}">`)
    .join('');
  return `<form method="post" action="${e(view.base + path)}"><input type="hidden" name="csrf" value="${e(view.csrf)}">${fields}<button type="submit" class="${cls}">${label}</button></form>`;
}

function formError(view: AccountView, name: string): string {
  const error = view.errors?.[name];
  return error ? `<p class="error" role="alert">${e(error.message)} (<code>${e(error.code)}</code>)</p>` : '';
}

const date = (iso: string | null) => (iso ? e(iso.slice(0, 16).replace('T', ' ')) + ' UTC' : '—');

function profileSection(view: AccountView): string {
  const p = view.profile;
  const verified = p.email
    ? ` <span class="badge">${p.emailVerified ? 'verified' : 'not verified'}</span>`
    : '';
  return `<section aria-labelledby="profile-title" id="profile">
<h2 id="profile-title">Profile</h2>
<dl>
<dt>Username</dt><dd>${e(p.username)}</dd>
<dt>Email</dt><dd>${p.email ? e(p.email) : 'none'}${verified}</dd>
<dt>Roles</dt><dd>${p.roles.length ? p.roles.map(e).join(', ') : 'none'}</dd>
</dl>
<form method="post" action="${e(`${view.base}/email`)}" novalidate>
<input type="hidden" name="csrf" value="${e(view.csrf)}">
${field(view, { form: 'email', name: 'email', label: 'New email address', type: 'email', autocomplete: 'email', max: 254 })}
${p.emailChangeNeedsVerification ? '<p class="muted">A link goes to the new address; it takes effect when you open it.</p>' : ''}
<button type="submit" class="inline">Change email</button>
</form>
</section>`;
}

function passwordSection(view: AccountView): string {
  const body = view.profile.password
    ? `${formError(view, 'password-form')}<form method="post" action="${e(`${view.base}/password`)}" novalidate>
<input type="hidden" name="csrf" value="${e(view.csrf)}">
<input type="text" name="username" autocomplete="username" value="${e(view.profile.username)}" hidden>
${field(view, { form: 'password', name: 'currentPassword', label: 'Current password', type: 'password', autocomplete: 'current-password', max: 1024 })}
${field(view, { form: 'password', name: 'newPassword', label: 'New password', type: 'password', autocomplete: 'new-password', max: 1024 })}
<p class="muted">At least 8 characters, not a common password, not your username.</p>
<button type="submit" class="inline">Change password</button>
</form>`
    : '<p>Your account signs in without a password of its own (a linked provider or a directory).</p>';
  return `<section aria-labelledby="password-title" id="password">
<h2 id="password-title">Password</h2>
${body}
</section>`;
}

function factorsSection(view: AccountView): string {
  const f = view.factors;
  const totp = f.totp
    ? `<p>Authenticator app: <strong>on</strong>. Recovery codes left: ${f.recoveryCodesLeft}.</p>
${formError(view, 'totp')}
${action(view, '/recovery-codes', 'Make new recovery codes')}
${action(view, '/totp/remove', 'Remove the authenticator app')}`
    : `<p>Authenticator app: <strong>off</strong>.</p>
${formError(view, 'totp')}
${action(view, '/totp/setup', 'Set up an authenticator app', {}, 'inline')}`;
  const passkeys = view.passkeys.length
    ? `<ul class="items">${view.passkeys
        .map((k) => {
          const id = `passkey-${e(k.id)}-name`;
          const err = view.errors?.[`name-${k.id}`];
          return `<li><strong>${e(k.name)}</strong> <span class="muted">added ${date(k.createdAt)}, last used ${date(k.lastUsedAt)}</span>
<form method="post" action="${e(`${view.base}/passkeys/rename`)}" novalidate><input type="hidden" name="csrf" value="${e(view.csrf)}"><input type="hidden" name="id" value="${e(k.id)}">
<label for="${id}">New name for ${e(k.name)}</label><input id="${id}" name="name" type="text" maxlength="64" required${err ? ` aria-describedby="${id}-error" aria-invalid="true"` : ''}>
${err ? `<p class="field-error" id="${id}-error">${e(err.message)} (<code>${e(err.code)}</code>)</p>` : ''}
<button type="submit" class="secondary inline">Rename</button></form>
${action(view, '/passkeys/remove', `Remove passkey ${e(k.name)}`, { id: k.id })}</li>`;
        })
        .join('\n')}</ul>`
    : '<p>No passkeys yet.</p>';
  return `<section aria-labelledby="factors-title" id="factors">
<h2 id="factors-title">Second factors and passkeys</h2>
${totp}
<h3>Passkeys</h3>
${passkeys}
${formError(view, 'passkey')}
<div id="add-passkey" hidden data-options="${e(`${view.base}/passkeys/options`)}">
<form id="add-passkey-form" method="post" action="${e(`${view.base}/passkeys/register`)}" novalidate>
<input type="hidden" name="csrf" value="${e(view.csrf)}">
<input type="hidden" name="credential" value="">
<label for="passkey-name">Name of the new passkey</label>
<input id="passkey-name" name="name" type="text" maxlength="64" required value="My passkey">
<button type="submit" class="inline">Add a passkey</button>
</form>
<p id="passkey-status" aria-live="polite"></p>
</div>
<noscript><p class="muted">Adding a passkey needs JavaScript in this browser.</p></noscript>
</section>`;
}

function identitiesSection(view: AccountView): string {
  const ids = view.identities;
  if (!ids || ids.providers.length === 0) return '';
  const items = ids.providers
    .map((p) => {
      const linked = ids.linked.find((l) => l.provider === p.id);
      return linked
        ? `<li><strong>${e(p.name)}</strong>: linked${linked.upstreamUsername ? ` as ${e(linked.upstreamUsername)}` : ''} <span class="muted">since ${date(linked.linkedAt)}</span>
${action(view, '/identities/unlink', `Unlink ${e(p.name)}`, { provider: p.id })}</li>`
        : `<li><strong>${e(p.name)}</strong>: not linked
${action(view, '/identities/link', `Link ${e(p.name)}`, { provider: p.id })}</li>`;
    })
    .join('\n');
  return `<section aria-labelledby="identities-title" id="identities">
<h2 id="identities-title">Linked sign-in providers</h2>
${formError(view, 'identities')}
<ul class="items">${items}</ul>
</section>`;
}

function sessionsSection(view: AccountView): string {
  const items = view.sessions
    .map((s, i) => {
      const what = s.kind === 'browser' ? 'Browser sign-in' : 'Session';
      const apps = s.clients.length ? ` to ${s.clients.map(e).join(', ')}` : '';
      const from = [s.sourceIp, s.userAgent].filter(Boolean).map(e).join(', ');
      return `<li>${s.current ? '<strong>This session</strong> ' : ''}${what}${apps}, started ${date(s.createdAt)}${from ? ` <span class="muted">(${from})</span>` : ''}
${s.current ? '' : action(view, '/sessions/end', `Sign out session ${i + 1}`, { id: s.id })}</li>`;
    })
    .join('\n');
  const others = view.sessions.some((s) => !s.current);
  return `<section aria-labelledby="sessions-title" id="sessions">
<h2 id="sessions-title">Active sessions</h2>
${formError(view, 'sessions')}
<ul class="items">${items || '<li>No active session.</li>'}</ul>
${others ? action(view, '/sessions/end-others', 'Sign out all other sessions', {}, 'inline') : ''}
</section>`;
}

function consentsSection(view: AccountView): string {
  const items = view.consents
    .map(
      (
        c,
      ) => `<li><strong>${e(c.clientName)}</strong> <span class="muted">(${e(c.clientId)}), since ${date(c.grantedAt)}</span>
<p>May use: ${[...c.scopes, ...c.resources].map((s) => `<code>${e(s)}</code>`).join(' ') || 'your sign-in only'}</p>
${action(view, '/consents/revoke', `Revoke access of ${e(c.clientName)}`, { id: c.id })}</li>`,
    )
    .join('\n');
  return `<section aria-labelledby="consents-title" id="applications">
<h2 id="consents-title">Applications you let in</h2>
${formError(view, 'consents')}
${items ? `<ul class="items">${items}</ul>` : '<p>No application has access to your account.</p>'}
</section>`;
}

export function renderAccountPage(view: AccountView): RenderedPage {
  const notice = view.done && NOTICES[view.done] ? NOTICES[view.done] : '';
  const body = `<header class="top">
<h1>Your account</h1>
${action(view, '/sign-out', 'Sign out', {}, 'secondary')}
</header>
<p class="muted">Signed in as <strong>${e(view.profile.username)}</strong></p>
<nav aria-label="Sections"><ul>
<li><a href="#profile">Profile</a></li><li><a href="#password">Password</a></li><li><a href="#factors">Second factors</a></li>${view.identities?.providers.length ? '<li><a href="#identities">Providers</a></li>' : ''}<li><a href="#sessions">Sessions</a></li><li><a href="#applications">Applications</a></li>
</ul></nav>
<div role="status">${notice ? `<p class="notice">${e(notice)}</p>` : ''}</div>
${profileSection(view)}
${passwordSection(view)}
${factorsSection(view)}
${identitiesSection(view)}
${sessionsSection(view)}
${consentsSection(view)}`;
  return renderPage({
    title: 'Your account',
    body,
    styles: accountStyles,
    theme: view.theme,
    script: ACCOUNT_PASSKEY_SCRIPT,
  });
}

/** The authenticator setup: the QR code, the secret as text, and the first code. */
export function renderTotpSetupPage(input: {
  base: string;
  csrf: string;
  qrCodeSvg: string;
  secret: string;
  error?: FieldError | undefined;
  theme?: string | undefined;
}): RenderedPage {
  const err = input.error;
  return renderPage({
    title: 'Set up an authenticator app',
    styles: accountStyles,
    theme: input.theme,
    body: `<h1>Set up an authenticator app</h1>
<p>Scan this code with your authenticator app, or type the key below into it.</p>
<figure aria-label="QR code of your authenticator key">${input.qrCodeSvg}</figure>
<p>Key: <code id="totp-secret">${e(input.secret)}</code></p>
<form method="post" action="${e(`${input.base}/totp/confirm`)}" novalidate>
<input type="hidden" name="csrf" value="${e(input.csrf)}">
<label for="totp-code">The 6-digit code the app shows</label>
<input id="totp-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="16" required autofocus${err ? ' aria-describedby="totp-code-error" aria-invalid="true"' : ''}>
${err ? `<p class="field-error" id="totp-code-error">${e(err.message)} (<code>${e(err.code)}</code>)</p>` : ''}
<button type="submit">Turn on</button>
</form>
<p><a href="${e(input.base)}#factors">Back to your account</a></p>`,
  });
}

/** Recovery codes, shown this once. */
export function renderRecoveryCodesPage(input: {
  base: string;
  title: string;
  codes: string[];
  theme?: string | undefined;
}): RenderedPage {
  return renderPage({
    title: input.title,
    styles: accountStyles,
    theme: input.theme,
    body: `<h1>${e(input.title)}</h1>
<p role="status" class="notice">Keep these recovery codes somewhere safe: each signs you in once without the app. They are shown only now.</p>
<ul class="codes" id="recovery-codes">${input.codes.map((c) => `<li><code>${e(c)}</code></li>`).join('')}</ul>
<p><a href="${e(input.base)}#factors">Back to your account</a></p>`,
  });
}
