/**
 * The authorization model in OpenFGA's JSON form (what its API and `@openfga/syntax-transformer` use):
 * snake_case containers, camelCase rewrite operators.
 */
export interface AuthorizationModel {
  id?: string;
  schema_version: string;
  type_definitions: TypeDefinition[];
  conditions?: Record<string, ConditionDefinition>;
}

export interface TypeDefinition {
  type: string;
  relations?: Record<string, Userset> | null;
  metadata?: {
    relations?: Record<string, RelationMetadata> | null;
    module?: string;
    source_info?: unknown;
  } | null;
}

export interface RelationMetadata {
  directly_related_user_types?: RelationReference[];
  module?: string;
  source_info?: unknown;
}

/** One entry of a type restriction: `user`, `user:*`, `group#member`, any of them `with condition`. */
export interface RelationReference {
  type: string;
  relation?: string;
  wildcard?: Record<string, never>;
  condition?: string;
}

export interface ObjectRelation {
  object?: string;
  relation?: string;
}

export type Userset =
  | { this: Record<string, never> }
  | { computedUserset: ObjectRelation }
  | { tupleToUserset: { tupleset: ObjectRelation; computedUserset: ObjectRelation } }
  | { union: { child: Userset[] } }
  | { intersection: { child: Userset[] } }
  | { difference: { base: Userset; subtract: Userset } };

export interface ConditionParameterType {
  type_name: string;
  generic_types?: ConditionParameterType[];
}

export interface ConditionDefinition {
  name: string;
  expression: string;
  parameters?: Record<string, ConditionParameterType>;
  metadata?: unknown;
}
