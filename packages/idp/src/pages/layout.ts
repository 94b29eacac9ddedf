import { randomBytes } from 'node:crypto';
import { escapeHtml } from '@gatehouse/core';

/**
 * The frame of every hosted page: one HTML document with its styles inline (no external assets,
 * so nothing leaks the visit to a third party and the page works offline), a strict
 * Content-Security-Policy whose nonce admits only that style block, `lang`, a viewport for phones,
 * and a colour theme in CSS variables that a deployment overrides with `theme` (a CSS text block
 * that sets `--gh-*` variables).
 */
export interface RenderedPage {
  html: string;
  headers: Record<string, string>;
}

export interface PageOptions {
  title: string;
  /** Trusted HTML (built with `html` / escapeHtml). */
  body: string;
  lang?: string;
  /** Extra CSS that redefines the `--gh-*` variables (operator-supplied, trusted). */
  theme?: string;
  /** A script of the identity provider's own (trusted), admitted by the same nonce; none by default. */
  script?: string;
  /** CSS of a page of the identity provider's own (trusted), after the base styles, before `theme`. */
  styles?: string;
}

const baseStyles = `
:root {
  --gh-bg: #f5f6f8;
  --gh-card: #ffffff;
  --gh-text: #1b1f24;
  --gh-muted: #4a5560;
  --gh-accent: #0b57d0;
  --gh-accent-text: #ffffff;
  --gh-danger: #a4161a;
  --gh-border: #6b7580;
  --gh-focus: #f59e0b;
  --gh-radius: 0.5rem;
  --gh-font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --gh-bg: #111418; --gh-card: #1c2127; --gh-text: #eef1f4; --gh-muted: #b7c0c9; --gh-accent: #8ab4f8; --gh-accent-text: #0b1220; --gh-danger: #ff8a80; --gh-border: #8a949e; }
}
*, *::before, *::after { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: flex-start; justify-content: center; background: var(--gh-bg); color: var(--gh-text); font: 1rem/1.5 var(--gh-font); }
main { width: 100%; max-width: 26rem; margin: 2rem 1rem; padding: 1.5rem; background: var(--gh-card); border-radius: var(--gh-radius); box-shadow: 0 1px 3px rgba(0,0,0,.2); }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
p { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
input[type=text], input[type=password] { width: 100%; padding: 0.65rem 0.75rem; font: inherit; color: var(--gh-text); background: var(--gh-card); border: 1px solid var(--gh-border); border-radius: var(--gh-radius); }
button { width: 100%; margin-top: 1.25rem; padding: 0.7rem 1rem; font: inherit; font-weight: 600; border-radius: var(--gh-radius); border: 1px solid var(--gh-accent); background: var(--gh-accent); color: var(--gh-accent-text); cursor: pointer; }
button.secondary { background: transparent; color: var(--gh-text); border-color: var(--gh-border); margin-top: 0.75rem; }
:focus-visible { outline: 3px solid var(--gh-focus); outline-offset: 2px; }
.error { color: var(--gh-danger); font-weight: 600; border-left: 4px solid var(--gh-danger); padding-left: 0.75rem; }
.muted { color: var(--gh-muted); font-size: 0.9rem; }
ul { padding-left: 1.25rem; }
code { overflow-wrap: anywhere; }
`;

export function renderPage(options: PageOptions): RenderedPage {
  const nonce = randomBytes(16).toString('base64');
  const html = `<!doctype html>
<html lang="${escapeHtml(options.lang ?? 'en')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(options.title)}</title>
<style nonce="${nonce}">${baseStyles}${options.styles ?? ''}${options.theme ?? ''}</style>
</head>
<body>
<main>
${options.body}
</main>
${options.script ? `<script nonce="${nonce}">${options.script}</script>\n` : ''}</body>
</html>`;
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // No script but the page's own nonced one (passkeys, which may fetch only from here); styles
      // only from the nonced block; never framed (clickjacking).
      'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; ${options.script ? `script-src 'nonce-${nonce}'; connect-src 'self'; ` : ''}img-src 'self'; base-uri 'none'; frame-ancestors 'none'`,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
    },
  };
}
