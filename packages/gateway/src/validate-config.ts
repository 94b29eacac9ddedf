import { ConfigError, loadConfig } from '@gatehouse/core';
import { type GatewayConfig, gatewayConfigSchema, type RouteConfig } from './config-schema.ts';
import { corsConfigProblem } from './routing/cors.ts';

/** The health check of a route with several upstreams that configures none. */
export const DEFAULT_REPLICA_CHECK: NonNullable<RouteConfig['healthCheck']> = {
  path: '/',
  intervalMs: 5000,
  timeoutMs: 2000,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
  expect: 'answer',
};

/**
 * Validate a `gateway` section on its own and fill its defaults (reload and tests); throws
 * ConfigError naming each bad key, and checks what a schema cannot say: the BFF's secrets when it
 * is enabled, unique route ids, each route's CORS settings, assertions only with the assertion key.
 */
export function validateGatewayConfig(section: unknown): GatewayConfig {
  const doc = loadConfig<{ gateway: GatewayConfig }>({
    document: { gateway: structuredClone(section) },
    env: {},
    sections: { gateway: gatewayConfigSchema },
  });
  const { bff } = doc.gateway;
  if (bff.enabled) {
    const missing = (['clientId', 'clientSecret', 'sessionSecret'] as const).filter((k) => !bff[k]);
    if (missing.length > 0) {
      throw new ConfigError(
        'gateway',
        missing.map((k) => `gateway.bff.${k} is required when gateway.bff.enabled is true`),
      );
    }
  }
  const ids = new Set<string>();
  for (const r of doc.gateway.routes) {
    // Several replicas and no check of their own: probe that each is up, so a dead one is taken out
    // in seconds instead of after failed requests (whatever its paths, any answer below 500 passes).
    if (r.upstreams.length > 1 && !r.healthCheck) r.healthCheck = { ...DEFAULT_REPLICA_CHECK };
    if (ids.has(r.id)) throw new ConfigError('gateway', [`gateway.routes: route id ${r.id} is repeated`]);
    ids.add(r.id);
    const corsProblem = r.cors ? corsConfigProblem(r.id, r.cors) : undefined;
    if (corsProblem) throw new ConfigError('gateway', [corsProblem]);
    if (r.assertion && !doc.gateway.assertion.enabled) {
      throw new ConfigError('gateway', [
        `gateway.routes: route ${r.id} sends an assertion but gateway.assertion.enabled is false`,
      ]);
    }
  }
  return doc.gateway;
}
