import { escapeHtml } from '@gatehouse/core';
import { type RenderedPage, renderPage } from './layout.ts';

/** A page that only says something: errors, "signed out". Text is escaped; nothing is a link back. */
export function renderMessagePage(input: {
  title: string;
  message: string;
  code?: string | undefined;
  theme?: string | undefined;
}): RenderedPage {
  const code = input.code ? `<p class="muted">Error code: <code>${escapeHtml(input.code)}</code></p>` : '';
  return renderPage({
    title: input.title,
    body: `<h1>${escapeHtml(input.title)}</h1>\n<p>${escapeHtml(input.message)}</p>\n${code}`,
    theme: input.theme,
  });
}
