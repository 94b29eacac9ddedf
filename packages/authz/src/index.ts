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
export { type AuditEntry, type AuditLog, createAuditLog } from './http/audit-log.ts';
export { type AuthzServiceOptions, createAuthzService } from './http/authz-service.ts';
export { type AuthzenApiOptions, authzenPaths, createAuthzenHandler } from './http/authzen-api.ts';
export { type AccessTokenVerifier, type Caller, createCallerAuth } from './http/caller-auth.ts';
export { createOpenfgaHandler, type OpenfgaApiOptions } from './http/openfga-api.ts';
export { type AuthzLimits, defaultAuthzLimits } from './limits.ts';
export type * from './model/model-types.ts';
export { type ModelProblem, type ModelSource, parseModel } from './model/parse-model.ts';
export type { Page } from './request-input.ts';
export type { StoreRecord } from './storage/store-rows.ts';
export { runStoreTestFile, type StoreTestResult } from './store-test/run-store-test.ts';
export {
  readStoreTestFile,
  readTupleFile,
  type StoreTest,
  type StoreTestFile,
  StoreTestFileError,
} from './store-test/store-test-file.ts';
export type { TupleCondition, TupleKey } from './tuple-key.ts';
