import type { AppSession } from './app-sessions.ts';

/** The application's only page, in its three states: signed in, signed out, or an error. */
export interface AppPageInput {
  title: string;
  peer: { title: string; origin: string };
  session?: AppSession;
  signedOut?: boolean;
  error?: string;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function renderAppPage(input: AppPageInput): string {
  const title = escapeHtml(input.title);
  const peer = `<a href="${escapeHtml(input.peer.origin)}/">Open ${escapeHtml(input.peer.title)}</a>`;
  let body: string;
  if (input.session) {
    const roles = input.session.roles.length > 0 ? input.session.roles.map(escapeHtml).join(', ') : '(none)';
    body = `<p id="who">Signed in to ${title} as <strong id="username">${escapeHtml(input.session.username)}</strong>.</p>
<p>Roles: <span id="roles">${roles}</span></p>
<p>${peer}</p>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`;
  } else if (input.error) {
    body = `<p id="error" role="alert">${escapeHtml(input.error)}</p><p><a href="/login">Sign in</a></p>`;
  } else {
    body = `<p id="signed-out">You are signed out of ${title}.</p><p><a href="/login">Sign in</a> · ${peer}</p>`;
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}</style>
</head><body><h1>${title}</h1>${body}</body></html>`;
}
