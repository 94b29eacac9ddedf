import { html } from '../html.ts';
import { actionButton, csrfField, field, layout, notice } from '../layout.ts';
import { accepted, type ConsoleRequest, type ConsoleRoute, must } from '../route.ts';

interface Group {
  name: string;
  description?: string;
  roles?: string[];
  members?: string[];
}
interface User {
  id: string;
  username: string;
}
interface Role {
  name: string;
}

const NOTICES: Record<string, string> = {
  created: 'Group created.',
  'member-added': 'Member added.',
  'member-removed': 'Member removed: their sessions ended so that they sign in with the roles they hold now.',
  'role-added': 'Role given to the group.',
  'role-removed': 'Role taken from the group: its members signed in again get the roles they hold now.',
};

async function listPage(r: ConsoleRequest, values: Record<string, string> = {}, error?: string) {
  const groups = must(await r.admin.call<Group[]>('GET', '/groups'));
  const { page: ctx } = r;
  const main = html`${notice(NOTICES[r.query.get('done') ?? ''])}
<div class="table-wrap"><table><caption>${groups.length} group${groups.length === 1 ? '' : 's'}</caption>
<thead><tr><th scope="col">Group</th><th scope="col">Description</th><th scope="col">Roles</th><th scope="col">Members</th></tr></thead>
<tbody>${groups.map(
    (g) =>
      html`<tr><td><a href="${ctx.base}/groups/${encodeURIComponent(g.name)}">${g.name}</a></td><td>${g.description ?? ''}</td><td>${(g.roles ?? []).join(', ')}</td><td>${String((g.members ?? []).length)}</td></tr>`,
  )}</tbody></table></div>
<section aria-labelledby="create-group"><h2 id="create-group">Create a group</h2>
<form method="post" action="${ctx.base}/groups" novalidate>${csrfField(ctx)}
${field('new-group', 'name', 'Name', { required: true, value: values['name'], error, hint: 'Lower case letters, digits and . _ : -', maxlength: 64 })}
${field('new-group', 'description', 'Description (optional)', { value: values['description'], maxlength: 256 })}
<button type="submit">Create group</button></form></section>`;
  return { html: layout(ctx, 'groups', 'Groups', main), status: error ? 400 : 200 };
}

async function groupPage(
  r: ConsoleRequest,
  err?: { form: 'member' | 'role'; message: string; value?: string },
) {
  const { page: ctx } = r;
  const name = r.params['name']!;
  const found = accepted(await r.admin.call<Group>('GET', `/groups/${encodeURIComponent(name)}`));
  if (found.status === 404)
    return {
      html: layout(ctx, 'groups', 'No such group', html`<p>No group has this name.</p>`),
      status: 404,
    };
  const group = must(found);
  const [users, roles] = await Promise.all([
    r.admin.call<User[]>('GET', '/users?limit=500').then(must),
    r.admin.call<Role[]>('GET', '/roles').then(must),
  ]);
  const names = new Map(users.map((u) => [u.id, u.username]));
  const groupBase = `${ctx.base}/groups/${encodeURIComponent(name)}`;
  const held = group.roles ?? [];
  const members = group.members ?? [];
  const main = html`${notice(NOTICES[r.query.get('done') ?? ''])}
${group.description ? html`<p>${group.description}</p>` : ''}
<section aria-labelledby="group-roles"><h2 id="group-roles">Roles of the group</h2>
<p class="hint">Every member holds these roles.</p>
<ul class="chips">${held.map(
    (role) =>
      html`<li>${role} ${actionButton(ctx, `${groupBase}/roles/${encodeURIComponent(role)}/remove`, 'Remove', `Remove role ${role} from the group`)}</li>`,
  )}</ul>${held.length === 0 ? html`<p>No roles.</p>` : ''}
<form method="post" action="${groupBase}/roles">${csrfField(ctx)}
<div class="field"><label for="group-role">Give the group a role</label>
<select id="group-role" name="role"${err?.form === 'role' ? html` aria-invalid="true" aria-describedby="group-role-error"` : ''}><option value="">Choose…</option>${roles
    .filter((x) => !held.includes(x.name))
    .map((x) => html`<option value="${x.name}">${x.name}</option>`)}</select>
${err?.form === 'role' ? html`<p class="field-error" id="group-role-error">${err.message}</p>` : ''}</div>
<button type="submit">Give role</button></form></section>

<section aria-labelledby="members"><h2 id="members">Members</h2>
${
  members.length === 0
    ? html`<p>No members.</p>`
    : html`<ul class="chips">${members.map((id) => {
        const username = names.get(id) ?? id;
        return html`<li><a href="${ctx.base}/users/${encodeURIComponent(id)}">${username}</a> ${actionButton(ctx, `${groupBase}/members/${encodeURIComponent(id)}/remove`, 'Remove', `Remove ${username} from the group`)}</li>`;
      })}</ul>`
}
<form method="post" action="${groupBase}/members" novalidate>${csrfField(ctx)}
${field('group-member', 'username', 'Add a member by username', { required: true, value: err?.form === 'member' ? err.value : undefined, error: err?.form === 'member' ? err.message : undefined, autocomplete: 'off', maxlength: 128 })}
<button type="submit">Add member</button></form></section>`;
  return { html: layout(ctx, 'groups', `Group ${group.name}`, main), status: err ? 400 : 200 };
}

const back = (r: ConsoleRequest, done: string) => ({
  redirect: `${r.page.base}/groups/${encodeURIComponent(r.params['name']!)}?done=${done}`,
});

export const groupRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/groups', run: (r) => listPage(r) },
  {
    method: 'POST',
    path: '/groups',
    async run(r) {
      const name = r.fields['name'] ?? '';
      const description = r.fields['description'] ?? '';
      if (!name) return listPage(r, { name, description }, 'Enter a name.');
      const answer = accepted(
        await r.admin.call('POST', '/groups', { name, ...(description ? { description } : {}) }),
      );
      if (answer.error)
        return listPage(r, { name, description }, `${answer.error.message} (${answer.error.code})`);
      return { redirect: `${r.page.base}/groups/${encodeURIComponent(name)}?done=created` };
    },
  },
  { method: 'GET', path: '/groups/{name}', run: (r) => groupPage(r) },
  {
    method: 'POST',
    path: '/groups/{name}/members',
    async run(r) {
      const username = (r.fields['username'] ?? '').trim();
      if (!username) return groupPage(r, { form: 'member', message: 'Enter a username.' });
      const found = must(
        await r.admin.call<User[]>(
          'GET',
          `/users?limit=20&search=${encodeURIComponent(username.slice(0, 128))}`,
        ),
      );
      const user = found.find((u) => u.username === username);
      if (!user)
        return groupPage(r, { form: 'member', message: `No user is named “${username}”.`, value: username });
      const answer = accepted(
        await r.admin.call(
          'PUT',
          `/groups/${encodeURIComponent(r.params['name']!)}/members/${encodeURIComponent(user.id)}`,
        ),
      );
      if (answer.error)
        return groupPage(r, {
          form: 'member',
          message: `${answer.error.message} (${answer.error.code})`,
          value: username,
        });
      return back(r, 'member-added');
    },
  },
  {
    method: 'POST',
    path: '/groups/{name}/members/{userId}/remove',
    async run(r) {
      must(
        await r.admin.call(
          'DELETE',
          `/groups/${encodeURIComponent(r.params['name']!)}/members/${encodeURIComponent(r.params['userId']!)}`,
        ),
      );
      return back(r, 'member-removed');
    },
  },
  {
    method: 'POST',
    path: '/groups/{name}/roles',
    async run(r) {
      const role = r.fields['role'] ?? '';
      if (!role) return groupPage(r, { form: 'role', message: 'Choose a role.' });
      const answer = accepted(
        await r.admin.call(
          'PUT',
          `/groups/${encodeURIComponent(r.params['name']!)}/roles/${encodeURIComponent(role)}`,
        ),
      );
      if (answer.error)
        return groupPage(r, { form: 'role', message: `${answer.error.message} (${answer.error.code})` });
      return back(r, 'role-added');
    },
  },
  {
    method: 'POST',
    path: '/groups/{name}/roles/{role}/remove',
    async run(r) {
      must(
        await r.admin.call(
          'DELETE',
          `/groups/${encodeURIComponent(r.params['name']!)}/roles/${encodeURIComponent(r.params['role']!)}`,
        ),
      );
      return back(r, 'role-removed');
    },
  },
];
