export { watchGatewayConfig } from './config-reload.ts';
export {
  type BffConfig,
  type GatewayConfig,
  gatewayConfigSchema,
  validateGatewayConfig,
} from './config-schema.ts';
export type * from './contracts.ts';
export { createDecisionClient, type DecisionClient, type DecisionQuery } from './decision-client.ts';
export { type GatewayErrorCode, gatewayErrors } from './errors.ts';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.ts';
export { IDENTITY_HEADERS } from './header-sanitize.ts';
export { createInflightLimiter } from './inflight-limit.ts';
export { normalizeRequestTarget } from './path-normalize.ts';
export { createRateLimiter } from './rate-limit.ts';
export { forkWorkers, listenReusePort } from './reuse-port.ts';
export { revokedInState } from './revocations.ts';
export { createUpstreamPool } from './upstream-pool.ts';
