export * from './body.ts';
export * from './errors.ts';
export * from './health.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './request-id.ts';
export * from './shutdown.ts';
