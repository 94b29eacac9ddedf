import { transformer } from '@openfga/syntax-transformer';
import type { AuthorizationModel } from './model-types.ts';

/**
 * A stored model written out as DSL text, by OpenFGA's own transformer, for people to read and edit
 * (the admin console's model editor).
 */
export function modelToDsl(model: AuthorizationModel): string {
  return transformer.transformJSONToDSL({
    schema_version: model.schema_version,
    type_definitions: model.type_definitions,
    ...(model.conditions ? { conditions: model.conditions } : {}),
  } as never);
}
