import type { Authz } from '../authz.ts';
import type { OpenfgaRoute } from './openfga-route.ts';
import { pageOf, queryGetter } from './openfga-wire.ts';

/** The OpenFGA API's authorization models endpoints (write a model, list them, read one). */
export function modelRoutes(authz: Authz): OpenfgaRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/authorization-models$/,
      access: 'write',
      handle: async ({ storeId, body }) => {
        const { authorizationModelId } = await authz.writeAuthorizationModel(storeId, { json: body });
        return [201, { authorization_model_id: authorizationModelId }];
      },
    },
    {
      method: 'GET',
      pattern: /^\/stores\/(?<store>[^/]+)\/authorization-models$/,
      access: 'read',
      handle: async ({ storeId, query: q }) => {
        const page = await authz.readAuthorizationModels(storeId, pageOf(queryGetter(q)));
        return [
          200,
          { authorization_models: page.authorizationModels, continuation_token: page.continuationToken },
        ];
      },
    },
    {
      method: 'GET',
      pattern: /^\/stores\/(?<store>[^/]+)\/authorization-models\/(?<model>[^/]+)$/,
      access: 'read',
      handle: async ({ storeId, modelId }) => [
        200,
        { authorization_model: await authz.readAuthorizationModel(storeId, modelId) },
      ],
    },
  ];
}
