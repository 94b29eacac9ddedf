import { sendJson } from '../http/json-response.ts';
import { mfaServiceOf } from '../mfa/mfa-service.ts';
import { type AdminChanges, noContent, notFound } from './admin-changes.ts';
import { type AdminRoute, answer, ref, refusal } from './admin-route.ts';
import { noControls } from './admin-schemas.ts';

/** Users: listed, created, read, changed, deleted; their password, second factors and direct roles. */
const user = { id: 'user id' };
const passwordRefused = refusal(
  'Invalid input; a password that is common or contains the username is refused with its own code',
  'IDP_PASSWORD_COMMON',
  'IDP_PASSWORD_CONTAINS_USERNAME',
);

export function usersRoutes(a: AdminChanges): AdminRoute[] {
  const { idp, accounts } = a;
  return [
    {
      method: 'GET',
      path: '/users',
      summary: 'List users',
      query: {
        search: { type: 'string', maxLength: 128, pattern: noControls },
        limit: { type: 'integer', minimum: 1, maximum: 500 },
        offset: { type: 'integer', minimum: 0, maximum: 1_000_000 },
      },
      responses: { '200': answer('Users', { type: 'array', items: ref('User') }) },
      async run({ res, query }) {
        sendJson(
          res,
          200,
          await accounts.list({
            search: query['search'] as string | undefined,
            limit: (query['limit'] as number | undefined) ?? 100,
            offset: (query['offset'] as number | undefined) ?? 0,
          }),
        );
      },
    },
    {
      method: 'POST',
      path: '/users',
      summary: 'Create a user',
      body: 'CreateUser',
      responses: {
        '201': answer('Created', ref('User')),
        '400': refusal(
          'Invalid input; a username of mixed scripts, a common password or one containing the username is refused with its own code',
          'IDP_USERNAME_INVALID',
          'IDP_PASSWORD_COMMON',
          'IDP_PASSWORD_CONTAINS_USERNAME',
        ),
        '409': refusal('IDP_USERNAME_TAKEN or IDP_EMAIL_TAKEN', 'IDP_USERNAME_TAKEN', 'IDP_EMAIL_TAKEN'),
      },
      async run({ res, body, caller }) {
        const input = body as Parameters<typeof accounts.create>[0];
        sendJson(res, 201, await accounts.create(input, { actor: caller.actor }));
      },
    },
    {
      method: 'GET',
      path: '/users/{id}',
      summary: 'Get a user',
      params: user,
      responses: { '200': answer('User', ref('User')) },
      async run({ res, params }) {
        const found = await accounts.get(params['id']!);
        if (!found) throw notFound('user');
        sendJson(res, 200, found);
      },
    },
    {
      method: 'PATCH',
      path: '/users/{id}',
      summary: 'Change email or enabled (disabling ends the user\u2019s sessions)',
      params: user,
      body: 'UpdateUser',
      responses: {
        '200': answer('User', ref('User')),
        '409': refusal('IDP_EMAIL_TAKEN: another account has the email', 'IDP_EMAIL_TAKEN'),
      },
      async run({ res, params, body, caller }) {
        const change = body as { email?: string | null; enabled?: boolean };
        const updated = await accounts.update(params['id']!, change, caller.actor);
        if (change.enabled === false) await a.revokeEverythingOf(updated.id, 'disabled', caller);
        sendJson(res, 200, updated);
      },
    },
    {
      method: 'DELETE',
      path: '/users/{id}',
      summary: 'Delete a user',
      params: user,
      responses: { '204': answer('Deleted') },
      async run({ res, params, caller }) {
        const found = await accounts.get(params['id']!);
        if (!found) throw notFound('user');
        await a.revokeEverythingOf(found.id, 'deleted', caller);
        await accounts.delete(found.id, caller.actor);
        noContent(res);
      },
    },
    {
      method: 'PUT',
      path: '/users/{id}/password',
      summary: 'Set a new password (ends the user\u2019s sessions)',
      params: user,
      body: 'SetPassword',
      responses: { '204': answer('Changed'), '400': passwordRefused },
      async run({ res, params, body, caller }) {
        await accounts.setPassword(params['id']!, (body as { password: string }).password, caller.actor);
        await a.revokeEverythingOf(params['id']!, 'password changed', caller);
        noContent(res);
      },
    },
    {
      method: 'GET',
      path: '/users/{id}/second-factors',
      summary: 'The user\u2019s second factors: authenticator app set up, recovery codes left, passkeys',
      params: user,
      responses: { '200': answer('Second factors', ref('SecondFactors')) },
      async run({ res, params }) {
        if (!(await accounts.get(params['id']!))) throw notFound('user');
        sendJson(res, 200, await mfaServiceOf(idp).factors.status(params['id']!));
      },
    },
    {
      method: 'DELETE',
      path: '/users/{id}/second-factors',
      summary: 'Reset the user\u2019s second factors (authenticator app, recovery codes and passkeys)',
      params: user,
      responses: {
        '204': answer('Removed'),
        '404': refusal('No such user or none set up', 'IDP_NOT_FOUND'),
      },
      async run({ res, params, caller }) {
        if (!(await accounts.get(params['id']!))) throw notFound('user');
        if (!(await mfaServiceOf(idp).factors.reset(params['id']!, caller.actor)))
          throw notFound('second factor');
        noContent(res);
      },
    },
    {
      method: 'PUT',
      path: '/users/{id}/roles/{role}',
      summary: 'Assign a role',
      params: { ...user, role: 'role name' },
      responses: { '204': answer('Assigned') },
      async run({ res, params, caller }) {
        if (!(await accounts.get(params['id']!))) throw notFound('user');
        await accounts.roles.assign(params['id']!, params['role']!, caller.actor);
        noContent(res);
      },
    },
    {
      method: 'DELETE',
      path: '/users/{id}/roles/{role}',
      summary: 'Remove a role',
      params: { ...user, role: 'role name' },
      responses: { '204': answer('Removed') },
      async run({ res, params, caller }) {
        if (!(await accounts.roles.unassign(params['id']!, params['role']!, caller.actor)))
          throw notFound('role assignment');
        await a.endSessionsAfterRoleLoss([params['id']!], caller);
        noContent(res);
      },
    },
  ];
}
