import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The request a piece of work belongs to. Set once where a request enters a process
 * (`withOpsEndpoints`), read by the logger, so every line written while serving a request carries
 * its id without threading a child logger through libraries that log (oidc-provider's hooks, say).
 */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();
