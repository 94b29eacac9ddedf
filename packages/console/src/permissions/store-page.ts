import type { AdminClient } from '../admin-client.ts';
import { html, type Markup } from '../html.ts';
import { layout } from '../layout.ts';
import { accepted, type ConsoleRequest, type ConsoleResult, must } from '../route.ts';

export interface Store {
  id: string;
  name: string;
  created_at?: string;
}

/** The permission service's client, or the page that says the console is not connected to one. */
export function authzOf(r: ConsoleRequest): AdminClient | ConsoleResult {
  if (r.authz) return r.authz;
  return {
    html: layout(
      r.page,
      'permissions',
      'Permissions',
      html`<p>This console is not connected to a permission service (the console's <code>authzUrl</code>).</p>`,
    ),
    status: 503,
  };
}

export const isClient = (x: AdminClient | ConsoleResult): x is AdminClient => 'call' in x;

const TABS = [
  ['model', 'Model'],
  ['tuples', 'Tuples'],
  ['check', 'Check tester'],
] as const;

export type StoreTab = (typeof TABS)[number][0];

/** The store a page is about (404 page when there is none), read with the person's token. */
export async function storeOf(
  r: ConsoleRequest,
  authz: AdminClient,
): Promise<{ store: Store } | { missing: ConsoleResult }> {
  const id = r.params['store']!;
  const found = accepted(await authz.call<Store>('GET', `/stores/${encodeURIComponent(id)}`));
  if (found.status === 404 || found.status === 400) {
    return {
      missing: {
        html: layout(r.page, 'permissions', 'No such store', html`<p>No store has this id.</p>`),
        status: 404,
      },
    };
  }
  return { store: must(found) };
}

/** A page of one store: its name, the store's tabs with the current one marked, the content. */
export function storePage(
  r: ConsoleRequest,
  store: Store,
  tab: StoreTab,
  main: Markup,
  status = 200,
): ConsoleResult {
  const storeBase = `${r.page.base}/permissions/${encodeURIComponent(store.id)}`;
  const label = TABS.find(([id]) => id === tab)![1];
  return {
    html: layout(
      r.page,
      'permissions',
      `${label} · ${store.name}`,
      html`<p><a href="${r.page.base}/permissions">All stores</a> · store <code>${store.id}</code></p>
<nav aria-label="Store"><ul class="chips">${TABS.map(
        ([id, text]) =>
          html`<li><a href="${storeBase}/${id}"${id === tab ? html` aria-current="page"` : ''}>${text}</a></li>`,
      )}</ul></nav>
${main}`,
    ),
    status,
  };
}

/** `line 6, column 22: ...` as the service words a model problem: its place, for the field's message. */
export function placeOf(message: string): { line: number; column?: number } | undefined {
  const m = /^line (\d+)(?:, column (\d+))?: /.exec(message);
  if (!m) return undefined;
  return { line: Number(m[1]), ...(m[2] ? { column: Number(m[2]) } : {}) };
}
