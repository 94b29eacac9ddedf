import { html } from '../html.ts';
import { csrfField, field, layout, notice } from '../layout.ts';
import { accepted, type ConsoleRequest, type ConsoleRoute, must } from '../route.ts';

interface Role {
  name: string;
  description?: string;
}

async function listPage(r: ConsoleRequest, values: Record<string, string> = {}, error?: string) {
  const roles = must(await r.admin.call<Role[]>('GET', '/roles'));
  const { page: ctx } = r;
  const main = html`${notice(r.query.get('done') === 'created' ? 'Role created.' : undefined)}
<div class="table-wrap"><table><caption>${roles.length} roles</caption>
<thead><tr><th scope="col">Role</th><th scope="col">Description</th></tr></thead>
<tbody>${roles.map((x) => html`<tr><td><code>${x.name}</code></td><td>${x.description ?? ''}</td></tr>`)}</tbody></table></div>
<section aria-labelledby="create-role"><h2 id="create-role">Create a role</h2>
<form method="post" action="${ctx.base}/roles" novalidate>${csrfField(ctx)}
${field('new-role', 'name', 'Name', { required: true, value: values['name'], error, maxlength: 64 })}
${field('new-role', 'description', 'Description (optional)', { value: values['description'], maxlength: 256 })}
<button type="submit">Create role</button></form></section>`;
  return { html: layout(ctx, 'roles', 'Roles', main), status: error ? 400 : 200 };
}

export const roleRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/roles', run: (r) => listPage(r) },
  {
    method: 'POST',
    path: '/roles',
    async run(r) {
      const name = r.fields['name'] ?? '';
      const description = r.fields['description'] ?? '';
      if (!name) return listPage(r, { name, description }, 'Enter a name.');
      const answer = accepted(
        await r.admin.call('POST', '/roles', { name, ...(description ? { description } : {}) }),
      );
      if (answer.error) {
        return listPage(r, { name, description }, `${answer.error.message} (${answer.error.code})`);
      }
      return { redirect: `${r.page.base}/roles?done=created` };
    },
  },
];
