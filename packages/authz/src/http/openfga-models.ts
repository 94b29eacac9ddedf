import type { Authz } from '../authz.ts';
import { modelToDsl } from '../model/model-dsl.ts';
import type { OpenfgaRoute } from './openfga-route.ts';
import { type Json, pageOf, queryGetter } from './openfga-wire.ts';

/** The OpenFGA API's authorization models endpoints (write a model, list them, read one). */
export function modelRoutes(authz: Authz): OpenfgaRoute[] {
  return [
    {
      method: 'POST',
      pattern: /^\/stores\/(?<store>[^/]+)\/authorization-models$/,
      access: 'write',
      handle: async ({ storeId, body }) => {
        // A Gatehouse extension: `{ "dsl": "model ..." }` writes the DSL text, and a problem in it is
        // answered with its line and column in that text (OpenFGA's body has no `dsl` member).
        const source = dslOf(body);
        const { authorizationModelId } = await authz.writeAuthorizationModel(
          storeId,
          source !== undefined ? { dsl: source } : { json: body },
        );
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
      handle: async ({ storeId, modelId, query: q }) => {
        const model = await authz.readAuthorizationModel(storeId, modelId);
        // A Gatehouse extension: `?format=dsl` adds the model as DSL text beside its JSON form.
        return [
          200,
          { authorization_model: model, ...(q.get('format') === 'dsl' ? { dsl: modelToDsl(model) } : {}) },
        ];
      },
    },
  ];
}

/** The DSL text of a `{ "dsl": "..." }` model body, else undefined (OpenFGA's JSON form). */
function dslOf(body: Json): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  const dsl = (body as Record<string, unknown>)['dsl'];
  return keys.length === 1 && typeof dsl === 'string' ? dsl : undefined;
}
