import { html } from '../html.ts';
import { csrfField, field, layout } from '../layout.ts';
import { authzOf, isClient, type Store } from '../permissions/store-page.ts';
import { accepted, type ConsoleRequest, type ConsoleResult, type ConsoleRoute, must } from '../route.ts';
import { permissionCheckRoutes } from './permission-check.ts';
import { permissionModelRoutes } from './permission-model.ts';
import { permissionTupleRoutes } from './permission-tuples.ts';

async function storesPage(r: ConsoleRequest, values: Record<string, string> = {}, error?: string) {
  const authz = authzOf(r);
  if (!isClient(authz)) return authz;
  const { page: ctx } = r;
  const from = r.query.get('from') ?? '';
  const listed = must(
    await authz.call<{ stores: Store[]; continuation_token?: string }>(
      'GET',
      `/stores?page_size=50${from ? `&continuation_token=${encodeURIComponent(from)}` : ''}`,
    ),
  );
  const stores = listed.stores ?? [];
  const main = html`<p>The permission service's stores: pick one to edit its model, browse its tuples or test a check.</p>
<div class="table-wrap"><table><caption>${stores.length} store${stores.length === 1 ? '' : 's'}</caption>
<thead><tr><th scope="col">Store</th><th scope="col">Id</th><th scope="col">Pages</th></tr></thead>
<tbody>${stores.map((s) => {
    const b = `${ctx.base}/permissions/${encodeURIComponent(s.id)}`;
    return html`<tr><td><a href="${b}/model">${s.name}</a></td><td><code>${s.id}</code></td><td><a href="${b}/tuples" aria-label="Tuples of ${s.name}">Tuples</a> · <a href="${b}/check" aria-label="Check tester of ${s.name}">Check tester</a></td></tr>`;
  })}</tbody></table></div>
${listed.continuation_token ? html`<p class="pager"><a href="?from=${encodeURIComponent(listed.continuation_token)}">Next stores</a></p>` : ''}
<section aria-labelledby="create-store"><h2 id="create-store">Create a store</h2>
<form method="post" action="${ctx.base}/permissions" novalidate>${csrfField(ctx)}
${field('new-store', 'name', 'Name', { required: true, value: values['name'], error, maxlength: 64 })}
<button type="submit">Create store</button></form></section>`;
  return {
    html: layout(ctx, 'permissions', 'Permissions', main),
    status: error ? 400 : 200,
  };
}

export const permissionRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/permissions', run: (r) => storesPage(r) },
  {
    method: 'POST',
    path: '/permissions',
    async run(r): Promise<ConsoleResult> {
      const authz = authzOf(r);
      if (!isClient(authz)) return authz;
      const name = (r.fields['name'] ?? '').trim();
      if (!name) return storesPage(r, { name }, 'Enter a name.');
      const answer = accepted(await authz.call<Store>('POST', '/stores', { name }));
      if (answer.error) return storesPage(r, { name }, `${answer.error.message} (${answer.error.code})`);
      return {
        redirect: `${r.page.base}/permissions/${encodeURIComponent(answer.body.id)}/model?done=store-created`,
      };
    },
  },
  ...permissionModelRoutes,
  ...permissionTupleRoutes,
  ...permissionCheckRoutes,
];
