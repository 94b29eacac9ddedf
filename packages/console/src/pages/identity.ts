import { html, type Markup } from '../html.ts';
import { layout } from '../layout.ts';
import { type ConsoleRoute, must } from '../route.ts';

interface Reachability {
  reachable: boolean;
  error?: string;
}
interface Provider {
  id: string;
  name: string;
  type: string;
  issuer?: string;
  authorizationEndpoint?: string;
  clientId: string;
  confidential: boolean;
  scopes: string[];
  createAccounts: boolean;
  redirectUri: string;
  status: Reachability;
}
interface Directory {
  enabled: boolean;
  url?: string;
  startTls?: boolean;
  bindDn?: string;
  bindPassword?: string;
  precedence?: string;
  userSearch?: { base?: string; scope: string; filter: string };
  groups?: { mode: string; roles: Record<string, string[]>; defaultRoles: string[] };
  disabledFilter?: string;
  syncIntervalSeconds?: number;
  status?: Reachability;
}

const state = (s: Reachability | undefined): Markup =>
  s?.reachable
    ? html`<span class="state ok">answers</span>`
    : html`<span class="state bad">does not answer</span>${s?.error ? html` <code>${s.error}</code>` : ''}`;

function directorySection(d: Directory): Markup {
  if (!d.enabled)
    return html`<p>No LDAP directory is configured (<code>idp.directory.enabled</code> is off).</p>`;
  const mapped = Object.entries(d.groups?.roles ?? {});
  return html`<dl class="facts"><dt>Server</dt><dd><code>${d.url}</code>${d.startTls ? ' (StartTLS)' : ''}</dd>
<dt>Status</dt><dd>${state(d.status)}</dd>
<dt>Bound as</dt><dd>${d.bindDn ? html`<code>${d.bindDn}</code>` : 'anonymous'}${d.bindPassword ? ' (password set)' : ''}</dd>
<dt>People</dt><dd><code>${d.userSearch?.base ?? ''}</code> · ${d.userSearch?.scope ?? ''} · <code>${d.userSearch?.filter ?? ''}</code></dd>
<dt>Precedence</dt><dd>${d.precedence ?? ''}</dd>
<dt>Disabled filter</dt><dd>${d.disabledFilter ? html`<code>${d.disabledFilter}</code>` : '—'}</dd>
<dt>Groups</dt><dd>${d.groups?.mode ?? ''}; default roles: ${(d.groups?.defaultRoles ?? []).join(', ') || '—'}</dd>
<dt>Sync</dt><dd>${d.syncIntervalSeconds ? `every ${d.syncIntervalSeconds} s` : 'off'}</dd></dl>
${
  mapped.length === 0
    ? ''
    : html`<div class="table-wrap"><table><caption>Directory groups and the roles they give</caption>
<thead><tr><th scope="col">Group</th><th scope="col">Roles</th></tr></thead>
<tbody>${mapped.map(([dn, roles]) => html`<tr><td><code>${dn}</code></td><td>${roles.join(', ')}</td></tr>`)}</tbody></table></div>`
}`;
}

export const identityRoutes: ConsoleRoute[] = [
  {
    method: 'GET',
    path: '/identity',
    async run(r) {
      const [providers, directory] = await Promise.all([
        r.admin.call<Provider[]>('GET', '/brokering/providers').then(must),
        r.admin.call<Directory>('GET', '/directory').then(must),
      ]);
      const { page: ctx } = r;
      const main = html`<p>Read-only: these come from the configuration file (<code>idp.brokering</code>, <code>idp.directory</code>); the status is checked as this page is drawn.</p>
<section aria-labelledby="providers"><h2 id="providers">Upstream identity providers</h2>
${
  providers.length === 0
    ? html`<p>No upstream identity provider is configured.</p>`
    : html`<div class="table-wrap"><table><caption>${providers.length} provider${providers.length === 1 ? '' : 's'}</caption>
<thead><tr><th scope="col">Provider</th><th scope="col">Kind</th><th scope="col">Issuer or endpoint</th><th scope="col">Client</th><th scope="col">Scopes</th><th scope="col">New accounts</th><th scope="col">Status</th></tr></thead>
<tbody>${providers.map(
        (p) =>
          html`<tr><th scope="row">${p.name} <code>${p.id}</code></th><td>${p.type}</td><td><code>${p.issuer ?? p.authorizationEndpoint ?? ''}</code></td><td><code>${p.clientId}</code>${p.confidential ? ' (secret set)' : ' (public)'}</td><td>${p.scopes.join(' ')}</td><td>${p.createAccounts ? 'created' : 'link only'}</td><td>${state(p.status)}</td></tr>`,
      )}</tbody></table></div>
<p class="hint">Callback to register at each provider: <code>${providers[0]!.redirectUri}</code></p>`
}</section>
<section aria-labelledby="directory"><h2 id="directory">LDAP directory</h2>
${directorySection(directory)}</section>`;
      return { html: layout(ctx, 'identity', 'Identity providers and LDAP', main) };
    },
  },
];
