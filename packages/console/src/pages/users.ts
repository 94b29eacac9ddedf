import { html, type Markup } from '../html.ts';
import { actionButton, csrfField, field, formError, layout, notice, type PageContext } from '../layout.ts';
import { accepted, type ConsoleRoute, fieldOf, must } from '../route.ts';

interface User {
  id: string;
  username: string;
  email?: string | null;
  enabled: boolean;
  roles?: string[];
  directRoles?: string[];
  groups?: string[];
  createdAt?: string;
}
interface Group {
  name: string;
}
interface LinkedIdentity {
  provider: string;
  subject: string;
  upstreamUsername?: string | null;
  linkedAt: string;
}
interface SecondFactors {
  totp: boolean;
  recoveryCodesLeft: number;
  passkeys: number;
}
interface Role {
  name: string;
  description?: string;
}
interface Session {
  sid: string;
  clientId?: string | null;
  startedAt?: string;
  createdAt?: string;
  lastSeenAt?: string | null;
  sourceIp?: string | null;
  endedAt?: string | null;
}

/** A labelled select whose error is announced and tied to it, like `field`. */
function select(id: string, name: string, label: string, options: string[], error?: string): Markup {
  return html`<div class="field"><label for="${id}">${label}</label>
<select id="${id}" name="${name}"${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}><option value="">Choose…</option>${options.map(
    (o) => html`<option value="${o}">${o}</option>`,
  )}</select>
${error ? html`<p class="field-error" id="${id}-error">${error}</p>` : ''}</div>`;
}

const NOTICES: Record<string, string> = {
  created: 'User created.',
  disabled: 'User disabled: their sessions and tokens have ended.',
  enabled: 'User enabled.',
  password: 'Password reset: their sessions and tokens have ended.',
  'role-added': 'Role given.',
  'role-removed': 'Role taken away.',
  revoked: 'Session revoked.',
  'group-added': 'Added to the group.',
  'group-removed': 'Taken out of the group.',
  unlinked: 'Identity unlinked.',
  'factors-reset': 'Second factors removed: they set one up again at their next sign-in if the policy asks.',
};

// Password first: IDP_PASSWORD_CONTAINS_USERNAME is about the password.
const USER_FIELDS = {
  password: ['password'],
  username: ['username'],
  email: ['email'],
  role: ['role'],
};

function createForm(
  ctx: PageContext,
  roles: Role[],
  values: Record<string, string>,
  err?: { field?: string; message: string },
): Markup {
  const at = (name: string) => (err?.field === name ? err.message : undefined);
  return html`<section aria-labelledby="create-user"><h2 id="create-user">Create a user</h2>
${err && !err.field ? formError(err.message) : ''}
<form method="post" action="${ctx.base}/users" novalidate>${csrfField(ctx)}
${field('new-user', 'username', 'Username', { required: true, value: values['username'], error: at('username'), hint: '3 to 32 characters', autocomplete: 'off', maxlength: 128 })}
${field('new-user', 'email', 'Email (optional)', { type: 'email', value: values['email'], error: at('email'), autocomplete: 'off', maxlength: 254 })}
${field('new-user', 'password', 'Initial password', { type: 'password', required: true, error: at('password'), autocomplete: 'new-password', maxlength: 1024 })}
<div class="field"><label for="new-user-role">Role (optional)</label>
<select id="new-user-role" name="role"><option value="">No role</option>${roles.map(
    (r) =>
      html`<option value="${r.name}"${values['role'] === r.name ? html` selected` : ''}>${r.name}</option>`,
  )}</select></div>
<button type="submit">Create user</button></form></section>`;
}

async function listPage(
  r: Parameters<ConsoleRoute['run']>[0],
  values: Record<string, string> = {},
  err?: { field?: string; message: string },
): Promise<{ html: string; status?: number }> {
  const search = r.query.get('search') ?? '';
  const users = must(
    await r.admin.call<User[]>(
      'GET',
      `/users?limit=100${search ? `&search=${encodeURIComponent(search.slice(0, 128))}` : ''}`,
    ),
  );
  const roles = must(await r.admin.call<Role[]>('GET', '/roles'));
  const { page: ctx } = r;
  const main = html`${notice(NOTICES[r.query.get('done') ?? ''])}
<form method="get" action="${ctx.base}/users" role="search" class="search">
<label for="user-search">Search users</label>
<input id="user-search" name="search" type="search" value="${search}" maxlength="128">
<button type="submit">Search</button></form>
<div class="table-wrap"><table><caption>${users.length} user${users.length === 1 ? '' : 's'}${search ? html` matching “${search}”` : ''}</caption>
<thead><tr><th scope="col">Username</th><th scope="col">Email</th><th scope="col">Status</th></tr></thead>
<tbody>${users.map(
    (u) =>
      html`<tr><td><a href="${ctx.base}/users/${encodeURIComponent(u.id)}">${u.username}</a></td><td>${u.email ?? ''}</td><td>${
        u.enabled ? 'enabled' : 'disabled'
      }</td></tr>`,
  )}</tbody></table></div>
${createForm(ctx, roles, values, err)}`;
  return { html: layout(ctx, 'users', 'Users', main), status: err ? 400 : 200 };
}

async function userPage(
  r: Parameters<ConsoleRoute['run']>[0],
  err?: { form: string; message: string },
): Promise<{ html: string; status?: number }> {
  const id = r.params['id']!;
  const { page: ctx } = r;
  const found = accepted(await r.admin.call<User>('GET', `/users/${encodeURIComponent(id)}`));
  if (found.status === 404)
    return { html: layout(ctx, 'users', 'No such user', html`<p>No user has this id.</p>`), status: 404 };
  const user = must(found);
  const uid = encodeURIComponent(id);
  const [roles, groups, sessions, identities, factors] = await Promise.all([
    r.admin.call<Role[]>('GET', '/roles').then(must),
    r.admin.call<Group[]>('GET', '/groups').then(must),
    r.admin.call<Session[]>('GET', `/sessions?userId=${uid}&active=true&limit=100`).then(must),
    r.admin.call<LinkedIdentity[]>('GET', `/users/${uid}/identities`).then(must),
    r.admin.call<SecondFactors>('GET', `/users/${uid}/second-factors`).then(must),
  ]);
  const userBase = `${ctx.base}/users/${uid}`;
  const held = user.roles ?? [];
  const direct = user.directRoles ?? held;
  const memberOf = user.groups ?? [];
  const hasFactor = factors.totp || factors.passkeys > 0 || factors.recoveryCodesLeft > 0;
  const main = html`${notice(NOTICES[r.query.get('done') ?? ''])}
<dl class="facts"><dt>Id</dt><dd><code>${user.id}</code></dd><dt>Email</dt><dd>${user.email ?? '—'}</dd>
<dt>Status</dt><dd>${user.enabled ? 'enabled' : 'disabled'}</dd></dl>
${actionButton(ctx, `${userBase}/${user.enabled ? 'disable' : 'enable'}`, user.enabled ? 'Disable user' : 'Enable user')}

<section aria-labelledby="roles"><h2 id="roles">Roles</h2>
<ul class="chips">${held.map((role) =>
    direct.includes(role)
      ? html`<li>${role} ${actionButton(ctx, `${userBase}/roles/${encodeURIComponent(role)}/remove`, 'Remove', `Remove role ${role}`)}</li>`
      : html`<li>${role} <span class="hint">(through a group)</span></li>`,
  )}</ul>${held.length === 0 ? html`<p>No roles.</p>` : ''}
<form method="post" action="${userBase}/roles">${csrfField(ctx)}
${select(
  'add-role',
  'role',
  'Give a role',
  roles.filter((x) => !held.includes(x.name)).map((x) => x.name),
  err?.form === 'role' ? err.message : undefined,
)}
<button type="submit">Give role</button></form></section>

<section aria-labelledby="groups"><h2 id="groups">Groups</h2>
<ul class="chips">${memberOf.map(
    (g) =>
      html`<li><a href="${ctx.base}/groups/${encodeURIComponent(g)}">${g}</a> ${actionButton(ctx, `${userBase}/groups/${encodeURIComponent(g)}/remove`, 'Remove', `Remove from group ${g}`)}</li>`,
  )}</ul>${memberOf.length === 0 ? html`<p>In no group.</p>` : ''}
<form method="post" action="${userBase}/groups">${csrfField(ctx)}
${select(
  'add-group',
  'group',
  'Add to a group',
  groups.filter((g) => !memberOf.includes(g.name)).map((g) => g.name),
  err?.form === 'group' ? err.message : undefined,
)}
<button type="submit">Add to group</button></form></section>

<section aria-labelledby="factors"><h2 id="factors">Second factors</h2>
<dl class="facts"><dt>Authenticator app</dt><dd>${factors.totp ? 'set up' : 'none'}</dd>
<dt>Recovery codes left</dt><dd>${String(factors.recoveryCodesLeft)}</dd><dt>Passkeys</dt><dd>${String(factors.passkeys)}</dd></dl>
${hasFactor ? actionButton(ctx, `${userBase}/second-factors/reset`, 'Reset second factors', `Reset second factors of ${user.username}`) : html`<p>Nothing to reset.</p>`}
</section>

<section aria-labelledby="identities"><h2 id="identities">Linked identities</h2>
${err?.form === 'identity' ? formError(err.message) : ''}
${
  identities.length === 0
    ? html`<p>No identity of another provider is linked.</p>`
    : html`<div class="table-wrap"><table><caption>${identities.length} linked identit${identities.length === 1 ? 'y' : 'ies'}</caption>
<thead><tr><th scope="col">Provider</th><th scope="col">Their name there</th><th scope="col">Linked</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${identities.map(
        (l) =>
          html`<tr><td><code>${l.provider}</code></td><td>${l.upstreamUsername ?? l.subject}</td><td>${l.linkedAt}</td><td>${actionButton(
            ctx,
            `${userBase}/identities/${encodeURIComponent(l.provider)}/unlink`,
            'Unlink',
            `Unlink the ${l.provider} identity`,
          )}</td></tr>`,
      )}</tbody></table></div>`
}</section>

<section aria-labelledby="password"><h2 id="password">Reset password</h2>
<form method="post" action="${userBase}/password" novalidate>${csrfField(ctx)}
${field('reset', 'password', 'New password', { type: 'password', required: true, autocomplete: 'new-password', error: err?.form === 'password' ? err.message : undefined, hint: 'Ends every session and token of this user', maxlength: 1024 })}
<button type="submit">Reset password</button></form></section>

<section aria-labelledby="sessions"><h2 id="sessions">Active sessions</h2>
${
  sessions.length === 0
    ? html`<p>No active session.</p>`
    : html`<div class="table-wrap"><table><caption>${sessions.length} active session${sessions.length === 1 ? '' : 's'}</caption>
<thead><tr><th scope="col">Session</th><th scope="col">Started</th><th scope="col">Address</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>${sessions.map(
        (s) =>
          html`<tr><td><code>${s.sid.slice(0, 12)}…</code></td><td>${s.startedAt ?? s.createdAt ?? ''}</td><td>${s.sourceIp ?? ''}</td><td>${actionButton(
            ctx,
            `${userBase}/sessions/${encodeURIComponent(s.sid)}/revoke`,
            'Revoke',
            `Revoke session ${s.sid.slice(0, 12)}`,
          )}</td></tr>`,
      )}</tbody></table></div>`
}</section>`;
  return { html: layout(ctx, 'users', `User ${user.username}`, main), status: err ? 400 : 200 };
}

const back = (r: Parameters<ConsoleRoute['run']>[0], done: string) => ({
  redirect: `${r.page.base}/users/${encodeURIComponent(r.params['id']!)}?done=${done}`,
});

export const userRoutes: ConsoleRoute[] = [
  { method: 'GET', path: '/users', run: (r) => listPage(r) },
  {
    method: 'POST',
    path: '/users',
    async run(r) {
      const { username = '', email = '', password = '', role = '' } = r.fields;
      const values = { username, email, role };
      if (!username) return listPage(r, values, { field: 'username', message: 'Enter a username.' });
      if (!password) return listPage(r, values, { field: 'password', message: 'Enter an initial password.' });
      const answer = accepted(
        await r.admin.call<User>('POST', '/users', {
          username,
          password,
          ...(email ? { email } : {}),
          ...(role ? { roles: [role] } : {}),
        }),
      );
      if (answer.error) {
        return listPage(r, values, {
          field: fieldOf(answer.error, USER_FIELDS),
          message: `${answer.error.message} (${answer.error.code})`,
        });
      }
      return { redirect: `${r.page.base}/users/${encodeURIComponent(answer.body.id)}?done=created` };
    },
  },
  { method: 'GET', path: '/users/{id}', run: (r) => userPage(r) },
  ...(['disable', 'enable'] as const).map(
    (verb): ConsoleRoute => ({
      method: 'POST',
      path: `/users/{id}/${verb}`,
      async run(r) {
        must(
          await r.admin.call('PATCH', `/users/${encodeURIComponent(r.params['id']!)}`, {
            enabled: verb === 'enable',
          }),
        );
        return back(r, `${verb}d`);
      },
    }),
  ),
  {
    method: 'POST',
    path: '/users/{id}/password',
    async run(r) {
      const password = r.fields['password'] ?? '';
      if (!password) return userPage(r, { form: 'password', message: 'Enter the new password.' });
      const answer = accepted(
        await r.admin.call('PUT', `/users/${encodeURIComponent(r.params['id']!)}/password`, { password }),
      );
      if (answer.error)
        return userPage(r, { form: 'password', message: `${answer.error.message} (${answer.error.code})` });
      return back(r, 'password');
    },
  },
  {
    method: 'POST',
    path: '/users/{id}/roles',
    async run(r) {
      const role = r.fields['role'] ?? '';
      if (!role) return userPage(r, { form: 'role', message: 'Choose a role.' });
      const answer = accepted(
        await r.admin.call(
          'PUT',
          `/users/${encodeURIComponent(r.params['id']!)}/roles/${encodeURIComponent(role)}`,
        ),
      );
      if (answer.error)
        return userPage(r, { form: 'role', message: `${answer.error.message} (${answer.error.code})` });
      return back(r, 'role-added');
    },
  },
  {
    method: 'POST',
    path: '/users/{id}/roles/{role}/remove',
    async run(r) {
      must(
        await r.admin.call(
          'DELETE',
          `/users/${encodeURIComponent(r.params['id']!)}/roles/${encodeURIComponent(r.params['role']!)}`,
        ),
      );
      return back(r, 'role-removed');
    },
  },
  {
    method: 'POST',
    path: '/users/{id}/groups',
    async run(r) {
      const group = r.fields['group'] ?? '';
      if (!group) return userPage(r, { form: 'group', message: 'Choose a group.' });
      const answer = accepted(
        await r.admin.call(
          'PUT',
          `/groups/${encodeURIComponent(group)}/members/${encodeURIComponent(r.params['id']!)}`,
        ),
      );
      if (answer.error)
        return userPage(r, { form: 'group', message: `${answer.error.message} (${answer.error.code})` });
      return back(r, 'group-added');
    },
  },
  {
    method: 'POST',
    path: '/users/{id}/groups/{group}/remove',
    async run(r) {
      must(
        await r.admin.call(
          'DELETE',
          `/groups/${encodeURIComponent(r.params['group']!)}/members/${encodeURIComponent(r.params['id']!)}`,
        ),
      );
      return back(r, 'group-removed');
    },
  },
  {
    method: 'POST',
    path: '/users/{id}/second-factors/reset',
    async run(r) {
      must(await r.admin.call('DELETE', `/users/${encodeURIComponent(r.params['id']!)}/second-factors`));
      return back(r, 'factors-reset');
    },
  },
  {
    method: 'POST',
    path: '/users/{id}/identities/{provider}/unlink',
    async run(r) {
      const answer = accepted(
        await r.admin.call(
          'DELETE',
          `/users/${encodeURIComponent(r.params['id']!)}/identities/${encodeURIComponent(r.params['provider']!)}`,
        ),
      );
      // The last way in is never unlinked: the refusal is shown beside the identities.
      if (answer.error)
        return userPage(r, { form: 'identity', message: `${answer.error.message} (${answer.error.code})` });
      return back(r, 'unlinked');
    },
  },
  {
    method: 'POST',
    path: '/users/{id}/sessions/{sid}/revoke',
    async run(r) {
      must(await r.admin.call('DELETE', `/sessions/${encodeURIComponent(r.params['sid']!)}`));
      return back(r, 'revoked');
    },
  },
];
