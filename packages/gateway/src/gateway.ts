import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  createMetricsRegistry,
  type Logger,
  noTracing,
  outlastBalancerIdleTimeouts,
  type Registry,
  type Sql,
  type Tracing,
} from '@gatehouse/core';
import { createVerifier, sdkError, type Verifier } from '@gatehouse/sdk';
import type { JWTVerifyGetKey } from 'jose';
import { type AssertionKey, loadAssertionKey } from './auth/assertion-key.ts';
import type { DecisionClient } from './auth/decision-client.ts';
import { createPermissionPolicy, type PermissionPolicy } from './auth/permission-policy.ts';
import {
  followRevocationFeed,
  revokedInState,
  revokedInStateOrFeed,
  subscribeRevocations,
} from './auth/revocations.ts';
import { type Bff, createBff } from './bff/bff.ts';
import type { GatewayConfig } from './config-schema.ts';
import type { Principal, SharedState } from './contracts.ts';
import { gatewayErrors } from './errors.ts';
import { createInflightLimiter } from './limits/inflight-limit.ts';
import { createRateLimiter } from './limits/rate-limit.ts';
import { createAccessLogger } from './ops/access-log.ts';
import { createDecisionAuditLogger } from './ops/decision-audit.ts';
import { createGatewayMetrics } from './ops/gateway-metrics.ts';
import { answerParserRefusals } from './ops/parser-refusals.ts';
import { hstsHeaderValue, httpsServerOptions } from './ops/tls.ts';
import type { GatewayContext } from './pipeline/gateway-context.ts';
import { handleRequest } from './pipeline/handle-request.ts';
import { buildRouteTable, closeRetired, type Factories, type RouteTable } from './routing/route-table.ts';
import { createUpstreamPool } from './upstreams/upstream-pool.ts';
import { validateGatewayConfig } from './validate-config.ts';

export interface GatewayOptions {
  /** The `gateway` configuration section; validated (and defaults filled) here. */
  config: unknown;
  state: SharedState;
  logger: Logger;
  /** Origin clients use; default issuer is `<publicUrl>/auth`, default audience `[publicUrl]`. */
  publicUrl?: string;
  /** A ready verifier; it should be built with `isRevoked: revokedInState(state)`. */
  verifier?: Verifier;
  /** Keys for the verifier the gateway builds itself, instead of fetching the JWKS (tests). */
  getKey?: JWTVerifyGetKey;
  /** Replaces the HTTP decision client (tests, or an in-process permission engine). */
  fetchDecision?: DecisionClient['check'];
  /**
   * The shared storage (authz migrations applied): with `gateway.authz` and no `gateway.authz.url`,
   * permission policies run the engine in this process on it.
   */
  sql?: Sql;
  metrics?: Registry;
  /** Replace how pools and limiters are made (tests). */
  factories?: Partial<Factories>;
  /**
   * Distributed tracing (core's createTracing): each request is a server span carrying the route,
   * the decision and its reason, and the client id; its traceparent goes upstream. Default off.
   */
  tracing?: Tracing;
}

export interface Gateway {
  readonly server: Server;
  readonly metrics: Registry;
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Validate and swap in a new `gateway` section. Throws (and logs) when invalid; the old routes stay. */
  reload(newConfig: unknown): Promise<void>;
  /**
   * Start draining: readiness answers 503 and every answer carries `Connection: close`, while the
   * listener still serves what reaches it (`close` follows).
   */
  drain(): void;
  close(): Promise<void>;
}

/**
 * The gateway: one `node:http` (or `https`) server whose handler is the request pipeline
 * (pipeline/handle-request.ts). This file assembles what the pipeline reads — route table, verifier
 * kept in step with revocations, browser sessions, assertion key, metrics and logs — and swaps the
 * table and verifier on reload.
 *
 * Admin paths live under `/_gatehouse/` (never routed upstream): health, metrics, the BFF's login
 * paths, JWKS and forward-auth (pipeline/reserved-endpoints.ts).
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { state } = options;
  const logger = options.logger.child({ component: 'gateway' });
  const accessLogger = createAccessLogger(logger);
  const auditLogger = createDecisionAuditLogger(logger);
  const tracing = options.tracing ?? noTracing;
  const registry = options.metrics ?? createMetricsRegistry('gateway');
  const metrics = createGatewayMetrics(registry);
  const factories: Factories = {
    createPool: options.factories?.createPool ?? createUpstreamPool,
    createRateLimiter: options.factories?.createRateLimiter ?? createRateLimiter,
    createInflightLimiter: options.factories?.createInflightLimiter ?? createInflightLimiter,
  };
  const publicUrl = (options.publicUrl ?? 'http://localhost:8080').replace(/\/$/, '');

  const config = validateGatewayConfig(options.config);
  // The assertion key is read once: services pin its kid, so it never changes under a reload.
  const assertionKey: AssertionKey | undefined = config.assertion.enabled
    ? await loadAssertionKey(config.assertion)
    : undefined;
  // Browser sessions: built once too; their paths and secret are part of what browsers hold.
  const bff: Bff | undefined = config.bff.enabled
    ? createBff(config.bff, { state, logger, publicUrl, issuer: config.auth.issuer ?? `${publicUrl}/auth` })
    : undefined;
  // Built once: its decision cache and change-feed watcher outlive reloads.
  const permissions: PermissionPolicy | undefined = config.authz
    ? createPermissionPolicy(config.authz, {
        logger,
        sql: options.sql,
        issuer: config.auth.issuer ?? `${publicUrl}/auth`,
      })
    : undefined;
  const withDecisions = (t: RouteTable): RouteTable =>
    options.fetchDecision ? { ...t, decisions: { check: options.fetchDecision } } : t;
  let table: RouteTable;
  try {
    table = withDecisions(
      buildRouteTable(config, undefined, { state, logger, metrics: registry, factories, permissions }),
    );
  } catch (err) {
    await permissions?.close();
    throw err;
  }

  // The durable revocation feed (when configured): no token is accepted before the first catch-up,
  // since the cache only fills through `isRevoked`; the subscription's reconnects and a timer catch up again.
  const feedConfig = config.auth.revocationFeed;
  const feed = feedConfig ? followRevocationFeed(feedConfig, () => gw.verifier, logger) : undefined;
  if (!feedConfig && state.driver === 'redis') {
    logger.warn(
      'gateway.auth.revocationFeed is not set: a revocation whose pub/sub message is lost is not enforced here',
    );
  }
  const inState =
    feed && feedConfig
      ? revokedInStateOrFeed(revokedInState(state), feed, 3 * feedConfig.pollIntervalMs, logger)
      : revokedInState(state);
  const isRevoked = async (p: Principal): Promise<boolean> => {
    if (feed && !feed.synced) throw sdkError('SDK_REVOCATION_UNAVAILABLE', 'Revocations not caught up yet');
    return inState(p);
  };

  const buildVerifier = (auth: GatewayConfig['auth']): Verifier => {
    const issuer = auth.issuer ?? `${publicUrl}/auth`;
    return createVerifier({
      issuer,
      audiences: auth.audiences ?? [publicUrl],
      algorithms: auth.algorithms,
      isRevoked,
      logger,
      ...(auth.jwksUri ? { jwksUri: auth.jwksUri } : {}),
      ...(options.getKey ? { getKey: options.getKey } : {}),
    });
  };
  // Retired tables that still have requests running: their pools stay open until they drain.
  const drainingTables = new Set<RouteTable>();
  const readiness: Record<string, () => Promise<void>> = { state: () => state.ping() };
  if (feed) {
    readiness['revocations'] = async () => {
      if (!feed.synced) throw new Error('revocations not caught up yet');
    };
  }
  const gw: GatewayContext = {
    table,
    verifier: options.verifier ?? buildVerifier(config.auth),
    draining: false,
    logger,
    accessLogger,
    auditLogger,
    tracing,
    registry,
    metrics,
    bff,
    assertionKey,
    hsts: config.tls?.hsts ? hstsHeaderValue(config.tls.hsts) : undefined,
    readiness,
    async retire(old) {
      drainingTables.delete(old);
      await closeRetired(old, [gw.table, ...drainingTables]);
    },
  };
  const catchUp = (why: string) => {
    feed?.sync().then(
      (n) => logger.debug({ revocations: n, why }, 'revocations caught up'),
      (err: Error) => logger.warn({ err: err.message, why }, 'revocation catch-up failed; the poll retries'),
    );
  };
  let unsubscribe: () => Promise<void>;
  try {
    unsubscribe = await subscribeRevocations(
      state,
      () => gw.verifier,
      logger,
      () => catchUp('subscription restored'),
    );
  } catch (err) {
    await Promise.all([...table.pools.values()].map((p) => p.close()));
    await permissions?.close();
    throw err;
  }
  if (feed) {
    // After subscribing, so nothing falls between the catch-up and the first message.
    try {
      await feed.sync();
    } catch (err) {
      logger.warn(
        { err: (err as Error).message },
        'revocation feed unreachable at start-up; tokens wait for it',
      );
    }
    feed.start();
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => void handleRequest(gw, req, res);
  const server = config.tls
    ? createHttpsServer(listenerOptions(config.tls), handler)
    : createHttpServer(handler);
  outlastBalancerIdleTimeouts(server);
  answerParserRefusals(server, logger);

  return {
    server,
    metrics: registry,
    listen(port, host = '127.0.0.1') {
      return new Promise<AddressInfo>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async reload(newConfig) {
      let next: RouteTable;
      try {
        const valid = validateGatewayConfig(newConfig);
        if (JSON.stringify(valid.assertion) !== JSON.stringify(config.assertion)) {
          throw gatewayErrors.create(
            'GW_CONFIG_INVALID',
            'gateway.assertion cannot change on reload: restart the gateway',
          );
        }
        if (JSON.stringify(valid.bff) !== JSON.stringify(config.bff)) {
          throw gatewayErrors.create(
            'GW_CONFIG_INVALID',
            'gateway.bff cannot change on reload: restart the gateway',
          );
        }
        if (JSON.stringify(valid.authz) !== JSON.stringify(config.authz)) {
          throw gatewayErrors.create(
            'GW_CONFIG_INVALID',
            'gateway.authz cannot change on reload: restart the gateway',
          );
        }
        next = withDecisions(
          buildRouteTable(valid, gw.table, { state, logger, metrics: registry, factories, permissions }),
        );
        if (!options.verifier && JSON.stringify(valid.auth) !== JSON.stringify(gw.table.config.auth)) {
          if (JSON.stringify(valid.auth.revocationFeed) !== JSON.stringify(config.auth.revocationFeed)) {
            throw gatewayErrors.create(
              'GW_CONFIG_INVALID',
              'gateway.auth.revocationFeed cannot change on reload: restart the gateway',
            );
          }
          const nextVerifier = buildVerifier(valid.auth);
          // A new verifier starts with no revocations: it gets every live one before it serves
          // (one that lands meanwhile reaches it with the next poll, which repeats recent ones).
          if (feedConfig) await followRevocationFeed(feedConfig, () => nextVerifier, logger).sync();
          gw.verifier = nextVerifier;
        }
      } catch (err) {
        logger.error(
          { err: (err as Error).message, problems: (err as { problems?: string[] }).problems },
          'configuration reload refused; the previous routes stay',
        );
        throw err;
      }
      const old = gw.table;
      gw.table = next;
      old.retired = true;
      if (old.active === 0) await gw.retire(old);
      else drainingTables.add(old);
      logger.info({ routes: next.config.routes.length }, 'configuration reloaded');
    },
    drain() {
      gw.draining = true;
    },
    async close() {
      gw.draining = true;
      feed?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await unsubscribe();
      await Promise.all([...gw.table.pools.values()].map((p) => p.close()));
      await permissions?.close();
    },
  };
}

/** The HTTPS listener's options; an optional client certificate is asked for but not required. */
function listenerOptions(tls: NonNullable<GatewayConfig['tls']>) {
  const options = httpsServerOptions({
    certFile: tls.certFile,
    keyFile: tls.keyFile,
    minVersion: tls.minVersion,
    ...(tls.clientCaFile ? { clientCaFile: tls.clientCaFile } : {}),
  });
  // Still verified against clientCaFile: `socket.authorized` says whether it chained.
  if (tls.clientCaFile && tls.clientCertificate === 'optional') options.rejectUnauthorized = false;
  return options;
}
