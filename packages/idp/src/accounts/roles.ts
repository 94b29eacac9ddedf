import type { Sql, SqlTx } from '@gatehouse/core';
import type { Audit } from '../audit/audit.ts';
import { idpErrors } from '../errors.ts';

/**
 * Roles and groups. A user's roles are the roles assigned to them directly plus the roles of every
 * group they belong to (one level: groups do not nest, so the answer is one query and never a cycle).
 */
export interface RoleInfo {
  name: string;
  description: string;
}

export interface GroupInfo {
  name: string;
  description: string;
  roles: string[];
  members: string[];
}

export interface Roles {
  list(): Promise<RoleInfo[]>;
  create(name: string, description?: string, actor?: string): Promise<RoleInfo>;
  delete(name: string, actor?: string): Promise<boolean>;
  assign(userId: string, role: string, actor?: string): Promise<void>;
  unassign(userId: string, role: string, actor?: string): Promise<boolean>;
  listGroups(): Promise<GroupInfo[]>;
  getGroup(name: string): Promise<GroupInfo | undefined>;
  createGroup(name: string, description?: string, actor?: string): Promise<GroupInfo>;
  deleteGroup(name: string, actor?: string): Promise<boolean>;
  addMember(group: string, userId: string, actor?: string): Promise<void>;
  removeMember(group: string, userId: string, actor?: string): Promise<boolean>;
  addGroupRole(group: string, role: string, actor?: string): Promise<void>;
  removeGroupRole(group: string, role: string, actor?: string): Promise<boolean>;
  /** Direct and group roles of a user, sorted, without duplicates. */
  effectiveRoles(q: SqlTx, userId: string): Promise<string[]>;
  /** Create the role when missing (demo seeding, bootstrap). */
  ensure(name: string, description?: string): Promise<void>;
  assignInTx(tx: SqlTx, userId: string, role: string): Promise<void>;
  addMemberInTx(tx: SqlTx, group: string, userId: string): Promise<void>;
}

/**
 * The query of a user's effective roles (direct and through groups, sorted, distinct) for the user id
 * SQL expression `userId` (a parameter such as `$1`, or a column of an outer query): account-roles.ts
 * and account-read-ahead-sql.ts read an account and its roles in one statement with it.
 */
export function effectiveRolesQuery(userId: string): string {
  return `select role from idp_user_roles where user_id = ${userId}
         union
         select gr.role from idp_group_roles gr join idp_group_members gm on gm.group_name = gr.group_name
         where gm.user_id = ${userId}
         order by role`;
}

const namePattern = /^[a-z0-9][a-z0-9._:-]{0,63}$/;

export function parseName(name: string): string {
  if (typeof name !== 'string' || !namePattern.test(name)) throw idpErrors.create('IDP_NAME_INVALID');
  return name;
}

function mapConstraint(err: unknown, what: string): unknown {
  const code = (err as { code?: string })?.code;
  if (code === '23505') return idpErrors.create('IDP_ALREADY_EXISTS', `${what} already exists`);
  if (code === '23503') return idpErrors.create('IDP_NOT_FOUND', `${what}: no such user, role or group`);
  if (code === '22P02') return idpErrors.create('IDP_NOT_FOUND', `${what}: no such user`);
  return err;
}

export function createRoles(sql: Sql, audit: Audit): Roles {
  const change = (
    action: string,
    actor: string | undefined,
    subject: string,
    details: Record<string, unknown> = {},
  ) => audit.record({ type: 'admin.change', actor: actor ?? null, subject, details: { action, ...details } });

  async function run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapConstraint(err, what);
    }
  }

  const roles: Roles = {
    async list() {
      return sql.query<RoleInfo>('select name, description from idp_roles order by name');
    },
    async create(name, description = '', actor) {
      parseName(name);
      await run(`Role ${name}`, () =>
        sql.query('insert into idp_roles (name, description) values ($1, $2)', [
          name,
          description.slice(0, 256),
        ]),
      );
      await change('role.create', actor, name);
      return { name, description: description.slice(0, 256) };
    },
    async delete(name, actor) {
      const rows = await sql.query('delete from idp_roles where name = $1 returning name', [name]);
      if (rows.length > 0) await change('role.delete', actor, name);
      return rows.length > 0;
    },
    async assign(userId, role, actor) {
      await run(`Role ${role}`, () => roles.assignInTx(sql, userId, role));
      await change('user.role.assign', actor, userId, { role });
    },
    async unassign(userId, role, actor) {
      const rows = await run('Role assignment', () =>
        sql.query('delete from idp_user_roles where user_id = $1 and role = $2 returning role', [
          userId,
          role,
        ]),
      );
      if (rows.length > 0) await change('user.role.unassign', actor, userId, { role });
      return rows.length > 0;
    },
    async listGroups() {
      const groups = await sql.query<{ name: string; description: string }>(
        'select name, description from idp_groups order by name',
      );
      return Promise.all(groups.map(async (g) => (await roles.getGroup(g.name))!));
    },
    async getGroup(name) {
      const rows = await sql.query<{ name: string; description: string }>(
        'select name, description from idp_groups where name = $1',
        [name],
      );
      if (!rows[0]) return undefined;
      const [groupRoles, members] = await Promise.all([
        sql.query<{ role: string }>('select role from idp_group_roles where group_name = $1 order by role', [
          name,
        ]),
        sql.query<{ user_id: string }>(
          'select user_id from idp_group_members where group_name = $1 order by user_id',
          [name],
        ),
      ]);
      return { ...rows[0], roles: groupRoles.map((r) => r.role), members: members.map((m) => m.user_id) };
    },
    async createGroup(name, description = '', actor) {
      parseName(name);
      await run(`Group ${name}`, () =>
        sql.query('insert into idp_groups (name, description) values ($1, $2)', [
          name,
          description.slice(0, 256),
        ]),
      );
      await change('group.create', actor, name);
      return { name, description: description.slice(0, 256), roles: [], members: [] };
    },
    async deleteGroup(name, actor) {
      const rows = await sql.query('delete from idp_groups where name = $1 returning name', [name]);
      if (rows.length > 0) await change('group.delete', actor, name);
      return rows.length > 0;
    },
    async addMember(group, userId, actor) {
      await run(`Group ${group}`, () => roles.addMemberInTx(sql, group, userId));
      await change('group.member.add', actor, group, { userId });
    },
    async removeMember(group, userId, actor) {
      const rows = await run('Group member', () =>
        sql.query('delete from idp_group_members where group_name = $1 and user_id = $2 returning user_id', [
          group,
          userId,
        ]),
      );
      if (rows.length > 0) await change('group.member.remove', actor, group, { userId });
      return rows.length > 0;
    },
    async addGroupRole(group, role, actor) {
      await run(`Group ${group}`, () =>
        sql.query('insert into idp_group_roles (group_name, role) values ($1, $2) on conflict do nothing', [
          group,
          role,
        ]),
      );
      await change('group.role.add', actor, group, { role });
    },
    async removeGroupRole(group, role, actor) {
      const rows = await sql.query(
        'delete from idp_group_roles where group_name = $1 and role = $2 returning role',
        [group, role],
      );
      if (rows.length > 0) await change('group.role.remove', actor, group, { role });
      return rows.length > 0;
    },
    async effectiveRoles(q, userId) {
      const rows = await q.query<{ role: string }>(effectiveRolesQuery('$1'), [userId]);
      return rows.map((r) => r.role);
    },
    async ensure(name, description = '') {
      parseName(name);
      await sql.query('insert into idp_roles (name, description) values ($1, $2) on conflict do nothing', [
        name,
        description,
      ]);
    },
    async assignInTx(tx, userId, role) {
      await tx.query('insert into idp_user_roles (user_id, role) values ($1, $2) on conflict do nothing', [
        userId,
        role,
      ]);
    },
    async addMemberInTx(tx, group, userId) {
      await tx.query(
        'insert into idp_group_members (group_name, user_id) values ($1, $2) on conflict do nothing',
        [group, userId],
      );
    },
  };
  return roles;
}
