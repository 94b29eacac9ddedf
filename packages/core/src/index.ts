export * from './body.ts';
export * from './client-address.ts';
export * from './config.ts';
export * from './cookies.ts';
export { type DataFolderHolder, dataFolderHolder } from './data-folder-lock.ts';
export * from './errors.ts';
export * from './health.ts';
export * from './hop-by-hop.ts';
export * from './html-escape.ts';
export * from './keep-alive.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './migrations.ts';
export * from './ops-endpoints.ts';
export * from './request-context.ts';
export * from './request-id.ts';
export * from './revocation-wire.ts';
export * from './shutdown.ts';
export { openSql, type Sql, type SqlDriver, type SqlOptions, type SqlTx } from './sql.ts';
export {
  openState,
  type SharedState,
  type StateOptions,
  type TakeTokenResult,
  type TokenBucket,
} from './state.ts';
export * from './storage-errors.ts';
export * from './tracing.ts';
export * from './trusted-proxies.ts';
