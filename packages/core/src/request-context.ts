import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request a piece of work belongs to. Set where a request enters a process
 * (`withOpsEndpoints`), read by the logger, so every line written while serving a request carries
 * its id without threading a child logger through libraries that log (oidc-provider's hooks, say).
 *
 * `unitOfWork` is the per-request state a package opens at its own entry (the identity provider's
 * storage unit of work): libraries that call back into our code without passing our objects
 * (oidc-provider's adapter) reach it here. This is the process's one async-context slot (sql.ts
 * marks open transactions in it too, outside requests as well); a package keeps no async-local
 * storage of its own.
 */
export interface RequestScope {
  requestId?: string;
  unitOfWork?: object;
  /** The SQL transaction this async context runs inside, if any (sql.ts `runInTransactionScope`). */
  openTransaction?: { owner: object; open: boolean };
}

export const requestContext = new AsyncLocalStorage<RequestScope>();

/** Run `fn` with `unitOfWork` as the current request's unit of work (the request id is kept). */
export function runInUnitOfWork<R>(unitOfWork: object, fn: () => R): R {
  return requestContext.run({ ...requestContext.getStore(), unitOfWork }, fn);
}

/** The unit of work `runInUnitOfWork` opened for the current request, if any. */
export function requestUnitOfWork(): object | undefined {
  return requestContext.getStore()?.unitOfWork;
}
