import { html, type Markup } from './html.ts';

export interface PageContext {
  /** Where the console is mounted, e.g. `/admin`. */
  base: string;
  /** The signed-in person's name as the token gives it. */
  who: string;
  csrfToken: string;
  /** Where the gateway ends a browser session. */
  logoutPath: string;
}

const AREAS = [
  ['users', 'Users'],
  ['groups', 'Groups'],
  ['clients', 'Clients'],
  ['roles', 'Roles'],
  ['identity', 'Identity providers'],
  ['gateway', 'Gateway'],
  ['keys', 'Signing keys'],
  ['permissions', 'Permissions'],
  ['audit', 'Audit log'],
] as const;

export type Area = (typeof AREAS)[number][0];

/** One page of the console: skip link, navigation with the current area marked, main content. */
export function layout(ctx: PageContext, area: Area | undefined, title: string, main: Markup): string {
  return `<!doctype html>${
    html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Gatehouse admin</title>
<link rel="stylesheet" href="${ctx.base}/assets/console.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="top"><p class="brand"><a href="${ctx.base}/users">Gatehouse admin</a></p>
<nav aria-label="Console"><ul>${AREAS.map(
      ([id, label]) =>
        html`<li><a href="${ctx.base}/${id}"${area === id ? html` aria-current="page"` : ''}>${label}</a></li>`,
    )}</ul></nav>
<form method="post" action="${ctx.logoutPath}" class="signout"><span>Signed in as <strong>${ctx.who}</strong></span>
<button type="submit">Sign out</button></form></header>
<main id="main" tabindex="-1"><h1>${title}</h1>
${main}
</main></body></html>`.html
  }`;
}

/**
 * A refusal or failure page with the stable code, for a person rather than a script. With `signOut`
 * (a person signed in without the admin role) it says who is signed in and offers to sign out, so
 * they can sign in as someone else.
 */
export function messagePage(
  base: string,
  title: string,
  code: string,
  message: string,
  signOut?: { who: string; logoutPath: string },
): string {
  return `<!doctype html>${
    html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Gatehouse admin</title>
<link rel="stylesheet" href="${base}/assets/console.css"></head>
<body><main id="main"><h1>${title}</h1><p role="alert">${message}</p><p class="code">Code: <code>${code}</code></p>
${
  signOut
    ? html`<form method="post" action="${signOut.logoutPath}"><p>You are signed in as <strong>${signOut.who}</strong>, who does not hold the admin role.
<button type="submit">Sign out</button> to sign in as someone else.</p></form>`
    : ''
}<p><a href="/">Back to the start page</a></p></main></body></html>`.html
  }`;
}

export interface FieldOptions {
  type?: string;
  required?: boolean;
  value?: string;
  error?: string;
  hint?: string;
  autocomplete?: string;
  pattern?: string;
  minlength?: number;
  maxlength?: number;
}

/** A labelled input; its error (if any) is announced and tied to it with aria-describedby. */
export function field(form: string, name: string, label: string, o: FieldOptions = {}): Markup {
  const id = `${form}-${name}`;
  const described = [o.hint ? `${id}-hint` : '', o.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="field"><label for="${id}">${label}</label>
${o.hint ? html`<p class="hint" id="${id}-hint">${o.hint}</p>` : ''}
<input id="${id}" name="${name}" type="${o.type ?? 'text'}"${o.required ? html` required` : ''}${
    o.value !== undefined ? html` value="${o.value}"` : ''
  }${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.pattern ? html` pattern="${o.pattern}"` : ''}${
    o.minlength !== undefined ? html` minlength="${String(o.minlength)}"` : ''
  }${o.maxlength !== undefined ? html` maxlength="${String(o.maxlength)}"` : ''}${
    described ? html` aria-describedby="${described}"` : ''
  }${o.error ? html` aria-invalid="true"` : ''}>
${o.error ? html`<p class="field-error" id="${id}-error">${o.error}</p>` : ''}</div>`;
}

export const csrfField = (ctx: PageContext): Markup =>
  html`<input type="hidden" name="csrf" value="${ctx.csrfToken}">`;

/** A one-button form (revoke, rotate, disable): a POST with the CSRF token. */
export function actionButton(ctx: PageContext, action: string, label: string, name?: string): Markup {
  return html`<form method="post" action="${action}" class="inline">${csrfField(ctx)}<button type="submit"${
    name ? html` aria-label="${name}"` : ''
  }>${label}</button></form>`;
}

/** A status line after a change (fixed texts only: nothing from the URL is echoed). */
export function notice(text: string | undefined): Markup {
  return text ? html`<p class="notice" role="status">${text}</p>` : html``;
}

export function formError(message: string | undefined): Markup {
  return message ? html`<p class="form-error" role="alert">${message}</p>` : html``;
}
