import { createTrustedProxies, type Logger, type Registry, type TrustedProxies } from '@gatehouse/core';
import { createDecisionClient, type DecisionClient } from '../auth/decision-client.ts';
import type { PermissionPolicy } from '../auth/permission-policy.ts';
import type { GatewayConfig } from '../config-schema.ts';
import type {
  InflightLimiter,
  RouteConfig,
  SharedState,
  UpstreamPool,
  UpstreamPoolDeps,
} from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import type { InflightLimiterOptions } from '../limits/inflight-limit.ts';
import type { RateLimiterHandle, RateLimiterOptions } from '../limits/rate-limit.ts';
import { type UpstreamTlsOptions, upstreamTlsOptions } from '../ops/tls.ts';
import { createRouter, type Router } from './router.ts';

export interface RouteLimits {
  rate?: RateLimiterHandle;
  inflight?: InflightLimiter;
}

export interface Factories {
  createPool(route: RouteConfig & { tls?: UpstreamTlsOptions }, deps: UpstreamPoolDeps): UpstreamPool;
  createRateLimiter(state: SharedState, cfg: RateLimiterOptions): RateLimiterHandle;
  createInflightLimiter(state: SharedState, cfg: InflightLimiterOptions): InflightLimiter;
}

/**
 * Everything built from one configuration: router, trusted proxies, pools, limiters, decision
 * client. A reload builds a new table and swaps it in one assignment; requests already running
 * keep the table they started with, and the old table's pools close once its last request ends.
 * Pools whose settings did not change move to the new table, keeping their health state.
 */
export interface RouteTable {
  readonly config: GatewayConfig;
  readonly router: Router;
  readonly proxies: TrustedProxies;
  readonly pools: ReadonlyMap<string, UpstreamPool>;
  readonly limits: ReadonlyMap<string, RouteLimits>;
  readonly decisions: DecisionClient | undefined;
  /** The permission engine's policy (`gateway.authz`); built once per gateway, shared by every table. */
  readonly permissions: PermissionPolicy | undefined;
  /** Requests running on this table. */
  active: number;
  retired: boolean;
}

export function buildRouteTable(
  config: GatewayConfig,
  previous: RouteTable | undefined,
  deps: {
    state: SharedState;
    logger: Logger;
    metrics: Registry;
    factories: Factories;
    permissions?: PermissionPolicy | undefined;
  },
): RouteTable {
  for (const r of config.routes) {
    if (typeof r.policy !== 'object' || !('permission' in r.policy)) continue;
    const rule = r.policy.permission;
    if (config.authz) {
      if (!rule.store && !config.authz.store) {
        throw gatewayErrors.create(
          'GW_CONFIG_INVALID',
          `route ${r.id}: its permission policy names no store and gateway.authz.store is not set`,
        );
      }
    } else if (rule.store || rule.subject || rule.context) {
      throw gatewayErrors.create(
        'GW_CONFIG_INVALID',
        `route ${r.id}: store, subject and context need gateway.authz (the permission engine)`,
      );
    } else if (!config.decision.url) {
      throw gatewayErrors.create(
        'GW_CONFIG_INVALID',
        'gateway.authz (or gateway.decision.url) is required by routes with a permission policy',
      );
    }
  }
  const proxies = createTrustedProxies(config.trustedProxies, config.trustedProxyDepth);
  const router = createRouter(config.routes);
  const pools = new Map<string, UpstreamPool>();
  const limits = new Map<string, RouteLimits>();
  const created: UpstreamPool[] = [];
  try {
    for (const route of config.routes) {
      const reused = previous && samePool(previous, route) ? previous.pools.get(route.id) : undefined;
      if (reused) {
        pools.set(route.id, reused);
      } else {
        const { tls, ...rest } = route;
        const pool = deps.factories.createPool(tls ? { ...rest, tls: upstreamTlsOptions(tls) } : rest, {
          logger: deps.logger,
          metrics: deps.metrics,
        });
        created.push(pool);
        pools.set(route.id, pool);
      }
      const l: RouteLimits = {};
      // Scoped by route id: two routes never share a bucket or a slot counter.
      if (route.rateLimit) {
        const { average, period, burst } = route.rateLimit;
        l.rate = deps.factories.createRateLimiter(deps.state, { average, period, burst, scope: route.id });
      }
      if (route.inflight) {
        // A slot outlives the longest request the route allows, so a crashed replica's slots expire.
        const ttlMs = route.timeoutMs * (route.retries + 1) + 5000;
        l.inflight = deps.factories.createInflightLimiter(deps.state, {
          max: route.inflight.max,
          scope: route.id,
          ttlMs,
        });
      }
      limits.set(route.id, l);
    }
  } catch (err) {
    for (const p of created) void p.close();
    throw err;
  }
  const decisions = config.decision.url
    ? createDecisionClient({
        url: config.decision.url,
        cacheTtlMs: config.decision.cacheTtlMs,
        timeoutMs: config.decision.timeoutMs,
        logger: deps.logger,
      })
    : undefined;
  return {
    config,
    router,
    proxies,
    pools,
    limits,
    decisions,
    permissions: deps.permissions,
    active: 0,
    retired: false,
  };
}

/** Close the pools of a drained, retired table that no table still in use shares. */
export async function closeRetired(old: RouteTable, inUse: Iterable<RouteTable>): Promise<void> {
  const keep = new Set<UpstreamPool>();
  for (const t of inUse) for (const p of t.pools.values()) keep.add(p);
  await Promise.all([...old.pools.values()].filter((p) => !keep.has(p)).map((p) => p.close()));
}

function samePool(previous: RouteTable, route: RouteConfig): boolean {
  const before = previous.config.routes.find((r) => r.id === route.id);
  return before !== undefined && JSON.stringify(poolPart(before)) === JSON.stringify(poolPart(route));
}

function poolPart(r: RouteConfig): unknown {
  return [r.upstreams, r.balance, r.timeoutMs, r.retries, r.healthCheck, r.circuitBreaker, r.tls];
}
