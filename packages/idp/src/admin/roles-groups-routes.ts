import { sendJson } from '../http/json-response.ts';
import { type AdminChanges, noContent, notFound } from './admin-changes.ts';
import { type AdminRoute, answer, ref, refusal } from './admin-route.ts';

/**
 * Roles and groups: created and deleted, a group's members and roles. Whoever loses a role by a
 * change has their sessions ended, so that their next sign-in carries the roles they hold now.
 */
const role = { name: 'role name' };
const group = { name: 'group name' };

export function rolesGroupsRoutes(a: AdminChanges): AdminRoute[] {
  const { accounts } = a;
  return [
    {
      method: 'GET',
      path: '/roles',
      summary: 'List roles',
      responses: { '200': answer('Roles', { type: 'array', items: ref('Role') }) },
      run: async ({ res }) => sendJson(res, 200, await accounts.roles.list()),
    },
    {
      method: 'POST',
      path: '/roles',
      summary: 'Create a role',
      body: 'CreateNamed',
      responses: {
        '201': answer('Created', ref('Role')),
        '409': refusal('Exists', 'IDP_ALREADY_EXISTS'),
      },
      async run({ res, body, caller }) {
        const { name, description } = body as { name: string; description?: string };
        sendJson(res, 201, await accounts.roles.create(name, description, caller.actor));
      },
    },
    {
      method: 'DELETE',
      path: '/roles/{name}',
      summary: 'Delete a role (and its assignments)',
      params: role,
      responses: { '204': answer('Deleted') },
      async run({ res, params, caller }) {
        const holders = await a.holdersOf(params['name']!);
        if (!(await accounts.roles.delete(params['name']!, caller.actor))) throw notFound('role');
        await a.endSessionsAfterRoleLoss(holders, caller);
        noContent(res);
      },
    },
    {
      method: 'GET',
      path: '/groups',
      summary: 'List groups',
      responses: { '200': answer('Groups', { type: 'array', items: ref('Group') }) },
      run: async ({ res }) => sendJson(res, 200, await accounts.roles.listGroups()),
    },
    {
      method: 'POST',
      path: '/groups',
      summary: 'Create a group',
      body: 'CreateNamed',
      responses: {
        '201': answer('Created', ref('Group')),
        '409': refusal('Exists', 'IDP_ALREADY_EXISTS'),
      },
      async run({ res, body, caller }) {
        const { name, description } = body as { name: string; description?: string };
        sendJson(res, 201, await accounts.roles.createGroup(name, description, caller.actor));
      },
    },
    {
      method: 'GET',
      path: '/groups/{name}',
      summary: 'Get a group',
      params: group,
      responses: { '200': answer('Group', ref('Group')) },
      async run({ res, params }) {
        const found = await accounts.roles.getGroup(params['name']!);
        if (!found) throw notFound('group');
        sendJson(res, 200, found);
      },
    },
    {
      method: 'DELETE',
      path: '/groups/{name}',
      summary: 'Delete a group',
      params: group,
      responses: { '204': answer('Deleted') },
      async run({ res, params, caller }) {
        const members = await a.membersOf(params['name']!);
        if (!(await accounts.roles.deleteGroup(params['name']!, caller.actor))) throw notFound('group');
        await a.endSessionsAfterRoleLoss(members, caller);
        noContent(res);
      },
    },
    {
      method: 'PUT',
      path: '/groups/{name}/members/{userId}',
      summary: 'Add a member',
      params: { ...group, userId: 'user id' },
      responses: { '204': answer('Added') },
      async run({ res, params, caller }) {
        if (!(await accounts.get(params['userId']!))) throw notFound('user');
        await accounts.roles.addMember(params['name']!, params['userId']!, caller.actor);
        noContent(res);
      },
    },
    {
      method: 'DELETE',
      path: '/groups/{name}/members/{userId}',
      summary: 'Remove a member',
      params: { ...group, userId: 'user id' },
      responses: { '204': answer('Removed') },
      async run({ res, params, caller }) {
        if (!(await accounts.roles.removeMember(params['name']!, params['userId']!, caller.actor)))
          throw notFound('member');
        await a.endSessionsAfterRoleLoss([params['userId']!], caller);
        noContent(res);
      },
    },
    {
      method: 'PUT',
      path: '/groups/{name}/roles/{role}',
      summary: 'Give the group a role',
      params: { ...group, role: 'role name' },
      responses: { '204': answer('Added') },
      async run({ res, params, caller }) {
        await accounts.roles.addGroupRole(params['name']!, params['role']!, caller.actor);
        noContent(res);
      },
    },
    {
      method: 'DELETE',
      path: '/groups/{name}/roles/{role}',
      summary: 'Take a role from the group',
      params: { ...group, role: 'role name' },
      responses: { '204': answer('Removed') },
      async run({ res, params, caller }) {
        if (!(await accounts.roles.removeGroupRole(params['name']!, params['role']!, caller.actor)))
          throw notFound('group role');
        await a.endSessionsAfterRoleLoss(await a.membersOf(params['name']!), caller);
        noContent(res);
      },
    },
  ];
}
