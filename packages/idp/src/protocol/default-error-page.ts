import { escapeHtml } from '@gatehouse/core';
import type { KoaContextWithOIDC } from 'oidc-provider';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5}</style></head><body><main>${body}</main></body></html>`;
}

/**
 * The error page oidc-provider renders when no hosted page is given (its `renderError` option,
 * provider.ts): never a redirect (an unregistered redirect_uri must not be followed), no reflected
 * markup.
 */
export async function defaultRenderError(
  ctx: KoaContextWithOIDC,
  out: { error: string; error_description?: string },
) {
  ctx.type = 'html';
  ctx.body = page(
    'Sign-in error',
    `<h1>Something went wrong</h1><p><code>${escapeHtml(out.error)}</code></p>${
      out.error_description ? `<p>${escapeHtml(out.error_description)}</p>` : ''
    }`,
  );
}
