import type { Authz } from '../authz.ts';
import type { OpenfgaRoute } from './openfga-route.ts';
import { field, pageOf, queryGetter, storeOut } from './openfga-wire.ts';

/** The OpenFGA API's stores endpoints (create, list, get, delete). */
export function storeRoutes(authz: Authz): OpenfgaRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/stores$/,
      access: 'write',
      handle: async ({ body }) => [
        201,
        storeOut(await authz.createStore({ name: field(body, 'name') as string })),
      ],
    },
    {
      method: 'GET',
      pattern: /^\/stores$/,
      access: 'read',
      handle: async ({ query: q }) => {
        const name = q.get('name') ?? undefined;
        const { stores, continuationToken } = await authz.listStores({ ...pageOf(queryGetter(q)), name });
        return [200, { stores: stores.map(storeOut), continuation_token: continuationToken }];
      },
    },
    {
      method: 'GET',
      pattern: /^\/stores\/(?<store>[^/]+)$/,
      access: 'read',
      handle: async ({ storeId }) => [200, storeOut(await authz.getStore(storeId))],
    },
    {
      method: 'DELETE',
      pattern: /^\/stores\/(?<store>[^/]+)$/,
      access: 'write',
      handle: async ({ storeId }) => {
        await authz.deleteStore(storeId);
        return [204, undefined];
      },
    },
  ];
}
