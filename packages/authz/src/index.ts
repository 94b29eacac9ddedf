export {
  type Authz,
  type AuthzOptions,
  authzMigrations,
  type BatchCheckItem,
  type BatchCheckResult,
  type CheckRequest,
  createAuthz,
  type QueryOptions,
  type WriteRequest,
} from './authz.ts';
export type { ExpandNode } from './engine/expand.ts';
export type { UserFilter } from './engine/list-users.ts';
export { type AuthzErrorCode, authzErrors, openfgaErrorOf } from './errors.ts';
export { createOpenfgaHandler, type OpenfgaApiOptions } from './http/openfga-api.ts';
export { type AuthzLimits, defaultAuthzLimits } from './limits.ts';
export type * from './model/model-types.ts';
export { type ModelProblem, type ModelSource, parseModel } from './model/parse-model.ts';
export type { Page } from './request-input.ts';
export type { StoreRecord } from './storage/sql-storage.ts';
export type { TupleCondition, TupleKey } from './tuple-key.ts';
