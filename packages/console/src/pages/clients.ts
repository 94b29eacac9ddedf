import { html } from '../html.ts';
import { actionButton, csrfField, field, formError, layout, notice, type PageContext } from '../layout.ts';
import { accepted, type ConsoleRequest, type ConsoleRoute, fieldOf, must } from '../route.ts';

interface Client {
  clientId: string;
  source: string;
  enabled: boolean;
  metadata: {
    scope?: string;
    grant_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
  };
}

const GRANTS = [
  ['authorization_code', 'Authorization code (people sign in)'],
  ['refresh_token', 'Refresh token'],
  ['client_credentials', 'Client credentials (a service)'],
] as const;

const CLIENT_FIELDS = {
  clientId: ['clientid', 'client id', 'client_id', 'exists'],
  redirectUris: ['redirect'],
  scope: ['scope'],
  grantTypes: ['grant'],
};

const NOTICES: Record<string, string> = { disabled: 'Client disabled.', enabled: 'Client enabled.' };

/** The secret, shown on this one answer only: it is stored hashed and cannot be shown again. */
function secretPage(ctx: PageContext, clientId: string, secret: string, what: string): string {
  return layout(
    ctx,
    'clients',
    `${what}: ${clientId}`,
    html`<div class="secret" role="status"><p><strong>Copy the client secret now.</strong> It is shown only this once.</p>
<label for="client-secret">Client secret of ${clientId}</label>
<input id="client-secret" type="text" readonly value="${secret}" class="mono"></div>
<p><a href="${ctx.base}/clients">Back to clients</a></p>`,
  );
}

async function listPage(
  r: ConsoleRequest,
  values: Record<string, string> = {},
  err?: { field?: string; message: string },
): Promise<{ html: string; status?: number }> {
  const clients = must(await r.admin.call<Client[]>('GET', '/clients'));
  const { page: ctx } = r;
  const at = (name: string) => (err?.field === name ? err.message : undefined);
  const chosen = (values['grantTypes'] ?? 'authorization_code').split(',');
  const main = html`${notice(NOTICES[r.query.get('done') ?? ''])}
<div class="table-wrap"><table><caption>${clients.length} clients</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Kind</th><th scope="col">Grant types</th><th scope="col">Redirect URIs</th><th scope="col">Scopes</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${clients.map((c) => {
    const confidential = (c.metadata.token_endpoint_auth_method ?? 'none') !== 'none';
    const base = `${ctx.base}/clients/${encodeURIComponent(c.clientId)}`;
    return html`<tr><th scope="row"><code>${c.clientId}</code></th><td>${confidential ? 'confidential' : 'public'}</td>
<td>${(c.metadata.grant_types ?? []).join(', ')}</td><td>${(c.metadata.redirect_uris ?? []).map((u) => html`<code>${u}</code> `)}</td>
<td>${c.metadata.scope ?? ''}</td><td>${c.enabled ? 'enabled' : 'disabled'}</td>
<td class="actions">${
      c.source === 'admin'
        ? html`${confidential ? actionButton(ctx, `${base}/rotate`, 'Rotate secret', `Rotate the secret of ${c.clientId}`) : ''}${actionButton(
            ctx,
            `${base}/${c.enabled ? 'disable' : 'enable'}`,
            c.enabled ? 'Disable' : 'Enable',
            `${c.enabled ? 'Disable' : 'Enable'} ${c.clientId}`,
          )}`
        : html`<span class="hint">from configuration</span>`
    }</td></tr>`;
  })}</tbody></table></div>
<section aria-labelledby="create-client"><h2 id="create-client">Create a client</h2>
${err && !err.field ? formError(err.message) : ''}
<form method="post" action="${ctx.base}/clients" novalidate>${csrfField(ctx)}
${field('new-client', 'clientId', 'Client id', { required: true, value: values['clientId'], error: at('clientId'), hint: 'Letters, digits, dot, dash, underscore', autocomplete: 'off', maxlength: 128 })}
<fieldset><legend>Kind</legend>
<div class="choice"><input type="radio" id="kind-confidential" name="kind" value="confidential"${values['kind'] !== 'public' ? html` checked` : ''}><label for="kind-confidential">Confidential (has a secret: a server)</label></div>
<div class="choice"><input type="radio" id="kind-public" name="kind" value="public"${values['kind'] === 'public' ? html` checked` : ''}><label for="kind-public">Public (PKCE only: a browser or mobile app)</label></div></fieldset>
<fieldset${at('grantTypes') ? html` aria-describedby="new-client-grants-error"` : ''}><legend>Grant types</legend>
${GRANTS.map(
  ([g, label]) =>
    html`<div class="choice"><input type="checkbox" id="grant-${g}" name="grant_${g}" value="on"${chosen.includes(g) ? html` checked` : ''}><label for="grant-${g}">${label}</label></div>`,
)}${at('grantTypes') ? html`<p class="field-error" id="new-client-grants-error">${at('grantTypes')}</p>` : ''}</fieldset>
<div class="field"><label for="new-client-redirectUris">Redirect URIs (one per line)</label>
<textarea id="new-client-redirectUris" name="redirectUris" rows="3"${at('redirectUris') ? html` aria-invalid="true" aria-describedby="new-client-redirectUris-error"` : ''}>${values['redirectUris'] ?? ''}</textarea>
${at('redirectUris') ? html`<p class="field-error" id="new-client-redirectUris-error">${at('redirectUris')}</p>` : ''}</div>
${field('new-client', 'scope', 'Scopes (space-separated)', { value: values['scope'] ?? 'openid profile', error: at('scope'), maxlength: 1024 })}
<button type="submit">Create client</button></form></section>`;
  return { html: layout(ctx, 'clients', 'Clients', main), status: err ? 400 : 200 };
}

export const clientRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/clients', run: (r) => listPage(r) },
  {
    method: 'POST',
    path: '/clients',
    async run(r) {
      const f = r.fields;
      const grantTypes = GRANTS.map(([g]) => g).filter((g) => f[`grant_${g}`] === 'on');
      const redirectUris = (f['redirectUris'] ?? '')
        .split(/\r?\n/)
        .map((u) => u.trim())
        .filter(Boolean);
      const values = {
        clientId: f['clientId'] ?? '',
        kind: f['kind'] === 'public' ? 'public' : 'confidential',
        grantTypes: grantTypes.join(','),
        redirectUris: f['redirectUris'] ?? '',
        scope: f['scope'] ?? '',
      };
      if (!values.clientId) return listPage(r, values, { field: 'clientId', message: 'Enter a client id.' });
      if (grantTypes.length === 0)
        return listPage(r, values, { field: 'grantTypes', message: 'Choose at least one grant type.' });
      if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
        return listPage(r, values, {
          field: 'redirectUris',
          message: 'A client that signs people in needs a redirect URI.',
        });
      }
      const answer = accepted(
        await r.admin.call<{ clientSecret?: string }>('POST', '/clients', {
          clientId: values.clientId,
          tokenEndpointAuthMethod: values.kind === 'public' ? 'none' : 'client_secret_basic',
          grantTypes,
          redirectUris,
          ...(values.scope ? { scope: values.scope } : {}),
        }),
      );
      if (answer.error) {
        return listPage(r, values, {
          field: fieldOf(answer.error, CLIENT_FIELDS),
          message: `${answer.error.message} (${answer.error.code})`,
        });
      }
      if (answer.body.clientSecret) {
        return {
          html: secretPage(r.page, values.clientId, answer.body.clientSecret, 'Client created'),
          status: 201,
        };
      }
      return { redirect: `${r.page.base}/clients` };
    },
  },
  {
    method: 'POST',
    path: '/clients/{clientId}/rotate',
    async run(r) {
      const id = r.params['clientId']!;
      const { clientSecret } = must(
        await r.admin.call<{ clientSecret: string }>('POST', `/clients/${encodeURIComponent(id)}/secret`),
      );
      return { html: secretPage(r.page, id, clientSecret, 'Secret rotated') };
    },
  },
  ...(['disable', 'enable'] as const).map(
    (verb): ConsoleRoute => ({
      method: 'POST',
      path: `/clients/{clientId}/${verb}`,
      async run(r) {
        must(
          await r.admin.call('PATCH', `/clients/${encodeURIComponent(r.params['clientId']!)}`, {
            enabled: verb === 'enable',
          }),
        );
        return { redirect: `${r.page.base}/clients?done=${verb}d` };
      },
    }),
  ),
];
