/**
 * The engine's limits. The defaults are OpenFGA's, so a model and a workload that run there run here.
 */
export interface AuthzLimits {
  /** Nested levels (userset and tuple-to-userset edges) one check may follow. OpenFGA: 25. */
  maxResolutionDepth: number;
  /** Objects one ListObjects answer holds at most. OpenFGA: 1,000. */
  listObjectsMaxResults: number;
  /** Users one ListUsers answer holds at most. OpenFGA: 1,000. */
  listUsersMaxResults: number;
  /** Tuples one Write may add and delete together. OpenFGA: 100. */
  maxTuplesPerWrite: number;
  /** Contextual tuples one request may carry. OpenFGA: 100. */
  maxContextualTuples: number;
  /** Checks one BatchCheck may carry. OpenFGA: 50. */
  maxChecksPerBatchCheck: number;
  /** Cost units one condition evaluation may spend (see model/condition.ts). OpenFGA: 100. */
  conditionCostLimit: number;
  /** Bytes of an authorization model's JSON form. OpenFGA: 256 KiB. */
  maxModelBytes: number;
  /** Page size of Read, ReadChanges and the list calls when the caller names none. OpenFGA: 50. */
  defaultPageSize: number;
  /** Largest page size a caller may ask for. OpenFGA: 100. */
  maxPageSize: number;
  /** Checks a ListObjects, ListUsers or BatchCheck runs at the same time. */
  concurrency: number;
}

export const defaultAuthzLimits: Readonly<AuthzLimits> = Object.freeze({
  maxResolutionDepth: 25,
  listObjectsMaxResults: 1000,
  listUsersMaxResults: 1000,
  maxTuplesPerWrite: 100,
  maxContextualTuples: 100,
  maxChecksPerBatchCheck: 50,
  conditionCostLimit: 100,
  maxModelBytes: 256 * 1024,
  defaultPageSize: 50,
  maxPageSize: 100,
  concurrency: 8,
});

/** The defaults with the caller's overrides, each checked: a known name, a positive integer. */
export function resolveAuthzLimits(overrides: Partial<AuthzLimits> | undefined): AuthzLimits {
  const limits: AuthzLimits = { ...defaultAuthzLimits, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!(name in defaultAuthzLimits)) throw new TypeError(`unknown authz limit '${name}'`);
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new TypeError(`authz limit '${name}' must be a positive integer, not ${String(value)}`);
    }
  }
  return limits;
}
