export { createDecisionClient, type DecisionClient, type DecisionQuery } from './auth/decision-client.ts';
export { revokedInState } from './auth/revocations.ts';
export {
  type BffConfig,
  type GatewayConfig,
  gatewayConfigSchema,
} from './config-schema.ts';
export type * from './contracts.ts';
export { type GatewayErrorCode, gatewayErrors } from './errors.ts';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.ts';
export { createInflightLimiter } from './limits/inflight-limit.ts';
export { createRateLimiter } from './limits/rate-limit.ts';
export { watchGatewayConfig } from './ops/config-reload.ts';
export { forkWorkers, listenReusePort } from './ops/reuse-port.ts';
export { normalizeRequestTarget } from './routing/path-normalize.ts';
export { IDENTITY_HEADERS } from './upstreams/header-sanitize.ts';
export { createUpstreamPool } from './upstreams/upstream-pool.ts';
export { validateGatewayConfig } from './validate-config.ts';
