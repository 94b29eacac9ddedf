import type { Authz } from '../authz.ts';
import { authzErrors } from '../errors.ts';
import type { OpenfgaRoute } from './openfga-route.ts';
import {
  bodyGetter,
  field,
  type Json,
  pageOf,
  queryGetter,
  tupleKeyOut,
  tupleKeysIn,
} from './openfga-wire.ts';

/** The OpenFGA API's relationship tuples endpoints (Write (adds and deletes), Read, ReadChanges). */
export function tupleRoutes(authz: Authz): OpenfgaRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/write$/,
      access: 'write',
      handle: async ({ storeId, body }) => {
        const writes = field(body, 'writes') as Json | undefined;
        const deletes = field(body, 'deletes') as Json | undefined;
        const { consistencyToken } = await authz.write(storeId, {
          authorizationModelId: field(body, 'authorization_model_id') as string | undefined,
          writes: writes
            ? {
                tupleKeys: tupleKeysIn(writes) ?? [],
                onDuplicate: field(writes, 'on_duplicate') as 'error' | 'ignore' | undefined,
              }
            : undefined,
          deletes: deletes
            ? {
                tupleKeys: tupleKeysIn(deletes) ?? [],
                onMissing: field(deletes, 'on_missing') as 'error' | 'ignore' | undefined,
              }
            : undefined,
        });
        return [200, { consistency_token: consistencyToken }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/read$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const key = field(body, 'tuple_key') as Json | undefined;
        const page = await authz.read(storeId, {
          ...pageOf(bodyGetter(body)),
          tupleKey: key
            ? {
                object: field(key, 'object') as string | undefined,
                relation: field(key, 'relation') as string | undefined,
                user: field(key, 'user') as string | undefined,
              }
            : undefined,
        } as Parameters<Authz['read']>[1]);
        return [
          200,
          {
            tuples: page.tuples.map((t) => ({
              key: tupleKeyOut(t.key),
              timestamp: t.timestamp.toISOString(),
            })),
            continuation_token: page.continuationToken,
          },
        ];
      },
    },
    {
      method: 'GET',
      pattern: /^\/stores\/(?<store>[^/]+)\/changes$/,
      access: 'read',
      handle: async ({ storeId, query: q }) => {
        const start = q.get('start_time');
        const startTime = start ? new Date(start) : undefined;
        if (startTime && Number.isNaN(startTime.getTime())) {
          throw authzErrors.create('AUTHZ_VALIDATION', `invalid start_time '${start}'`);
        }
        const page = await authz.readChanges(storeId, {
          ...pageOf(queryGetter(q)),
          type: q.get('type') ?? undefined,
          startTime,
        });
        return [
          200,
          {
            changes: page.changes.map((c) => ({
              tuple_key: tupleKeyOut(c.tupleKey),
              operation: c.operation === 'write' ? 'TUPLE_OPERATION_WRITE' : 'TUPLE_OPERATION_DELETE',
              timestamp: c.timestamp.toISOString(),
            })),
            continuation_token: page.continuationToken,
          },
        ];
      },
    },
  ];
}
