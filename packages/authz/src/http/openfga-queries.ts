import type { Authz } from '../authz.ts';
import type { OpenfgaRoute } from './openfga-route.ts';
import { field, type Json, queryOptions, tupleKeyIn, tupleKeysIn, userOut } from './openfga-wire.ts';

/** The OpenFGA API's queries endpoints (Check, BatchCheck, Expand, ListObjects (and its streamed form), ListUsers). */
export function queryRoutes(authz: Authz): OpenfgaRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/check$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const { allowed } = await authz.check(storeId, {
          ...queryOptions(body),
          tupleKey: tupleKeyIn(field(body, 'tuple_key')),
          contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
        });
        return [200, { allowed, resolution: '' }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/batch-check$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const checks = field(body, 'checks');
        const { result } = await authz.batchCheck(storeId, {
          ...queryOptions(body),
          checks: (Array.isArray(checks) ? checks : []).map((c: Json) => ({
            tupleKey: tupleKeyIn(field(c, 'tuple_key')),
            contextualTuples: tupleKeysIn(field(c, 'contextual_tuples')),
            context: field(c, 'context') as Record<string, unknown> | undefined,
            correlationId: field(c, 'correlation_id') as string,
          })),
        });
        const out: Record<string, unknown> = {};
        for (const [id, r] of Object.entries(result)) {
          out[id] =
            'allowed' in r
              ? { allowed: r.allowed }
              : { error: { input_error: r.error.openfga, message: r.error.message } };
        }
        return [200, { result: out }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/expand$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const key = (field(body, 'tuple_key') ?? {}) as Json;
        const { tree } = await authz.expand(storeId, {
          ...queryOptions(body),
          tupleKey: { object: field(key, 'object') as string, relation: field(key, 'relation') as string },
          contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
        });
        return [200, { tree }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/list-objects$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const { objects } = await authz.listObjects(storeId, listObjectsQuery(body));
        return [200, { objects }];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/streamed-list-objects$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        // The answer is computed first, so an error is still a plain error answer; then one line per object.
        const { objects } = await authz.listObjects(storeId, listObjectsQuery(body));
        return [200, objects.map((object) => JSON.stringify({ result: { object } })), 'ndjson'];
      },
    },
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/list-users$/,
      access: 'read',
      handle: async ({ storeId, body }) => {
        const object = (field(body, 'object') ?? {}) as Json;
        const filters = field(body, 'user_filters');
        const { users } = await authz.listUsers(storeId, {
          ...queryOptions(body),
          object: { type: field(object, 'type') as string, id: field(object, 'id') as string },
          relation: field(body, 'relation') as string,
          userFilters: (Array.isArray(filters) ? filters : []).map((f: Json) => ({
            type: field(f, 'type') as string,
            relation: field(f, 'relation') as string | undefined,
          })),
          contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
        });
        return [200, { users: users.map(userOut) }];
      },
    },
  ];
}

/** The ListObjects question in a request body (plain and streamed ListObjects ask the same). */
function listObjectsQuery(body: Json): Parameters<Authz['listObjects']>[1] {
  return {
    ...queryOptions(body),
    type: field(body, 'type') as string,
    relation: field(body, 'relation') as string,
    user: field(body, 'user') as string,
    contextualTuples: tupleKeysIn(field(body, 'contextual_tuples')),
  };
}
