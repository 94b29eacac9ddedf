import { ConfigError, loadConfig } from '@gatehouse/core';
import {
  type BffConfig,
  type GatewayConfig,
  gatewayConfigSchema,
  type RouteConfig,
} from './config-schema.ts';
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
 * is enabled, unique client and route ids, each route's CORS settings and BFF client, assertions only
 * with the assertion key.
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
  const clientIds = bff.clients.map((c) => c.clientId);
  if (new Set(clientIds).size !== clientIds.length || (bff.clientId && clientIds.includes(bff.clientId))) {
    throw new ConfigError('gateway', ['gateway.bff.clients: a client id is repeated']);
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
    const clientProblem = bffClientProblem(r, bff);
    if (clientProblem) throw new ConfigError('gateway', [clientProblem]);
    if (r.assertion && !doc.gateway.assertion.enabled) {
      throw new ConfigError('gateway', [
        `gateway.routes: route ${r.id} sends an assertion but gateway.assertion.enabled is false`,
      ]);
    }
  }
  return doc.gateway;
}

/** A route's `bffClient` must name one of `gateway.bff.clients`, on a page for people. */
function bffClientProblem(r: RouteConfig, bff: BffConfig): string | undefined {
  if (r.bffClient === undefined) return undefined;
  if (!bff.enabled) return `gateway.routes: route ${r.id} names bffClient but gateway.bff.enabled is false`;
  if (r.browser !== true) return `gateway.routes: route ${r.id} names bffClient without browser: true`;
  if (!bff.clients.some((c) => c.clientId === r.bffClient)) {
    return `gateway.routes: route ${r.id} names bffClient ${r.bffClient}, which is not in gateway.bff.clients`;
  }
  return undefined;
}
