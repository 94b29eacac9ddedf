import { createServer, type Server } from 'node:http';
import { authzMigrations, createAuthz, createAuthzService } from '@gatehouse/authz';
import {
  createMetricsRegistry,
  type Logger,
  migrate,
  noTracing,
  outlastBalancerIdleTimeouts,
  type Sql,
  type Tracing,
  traceRequests,
  withOpsEndpoints,
} from '@gatehouse/core';
import { createVerifier } from '@gatehouse/sdk';
import type { GatehouseConfig } from './load-config.ts';

/** Where the permission service sits behind the gateway in `gatehouse dev`. */
export const authzDevPrefix = '/authz';

/** The audience a service token for the permission service carries: `authz.auth.audience`. */
export function authzAudience(config: GatehouseConfig): string {
  return config.authz.auth.audience ?? `${config.server.publicUrl.replace(/\/$/, '')}${authzDevPrefix}`;
}

/** The issuer of callers' tokens: `authz.auth.issuer`, else the idp's issuer. */
export function authzIssuer(config: GatehouseConfig): string {
  const idpIssuer = (config.idp as { issuer?: string }).issuer;
  return config.authz.auth.issuer ?? idpIssuer ?? `${config.server.publicUrl.replace(/\/$/, '')}/auth`;
}

export interface AuthzServerOptions {
  config: GatehouseConfig;
  sql: Sql;
  logger: Logger;
  /** The service's URL as callers reach it (AuthZEN metadata); a function when known only once listening. */
  baseUrl: string | (() => string);
  /** The idp's JWKS; default `authz.auth.jwksUri`, else `<issuer>/jwks`. Fetched over HTTP. */
  jwksUri?: string;
  draining: () => boolean;
  /** Administrators' tokens: default `authz.auth.admins` (off when absent). */
  admins?: { audience: string; role: string } | undefined;
  /** Each request a server span, joined to the caller's traceparent (default off). */
  tracing?: Tracing;
}

/**
 * The permission service (`gatehouse authz`, and /authz in `gatehouse dev`): its tables migrated, the
 * OpenFGA and AuthZEN APIs behind the service-token check, health and metrics under /health and /metrics.
 */
export async function createAuthzServer(options: AuthzServerOptions): Promise<Server> {
  const { config, sql, logger } = options;
  await migrate(sql, [authzMigrations]);
  const issuer = authzIssuer(config);
  const authz = createAuthz({ sql, limits: config.authz.limits });
  const jwksUri = options.jwksUri ?? config.authz.auth.jwksUri ?? `${issuer}/jwks`;
  const admins = options.admins ?? config.authz.auth.admins;
  const handler = createAuthzService({
    authz,
    logger: logger.child({ component: 'authz' }),
    verifier: createVerifier({
      issuer,
      audiences: [authzAudience(config)],
      jwksUri,
    }),
    // A second verifier of its own, so a person's token is never accepted for the service's audience.
    admins: admins
      ? { verifier: createVerifier({ issuer, audiences: [admins.audience], jwksUri }), role: admins.role }
      : undefined,
    readScope: config.authz.auth.readScope,
    writeScope: config.authz.auth.writeScope,
    baseUrl: options.baseUrl,
    defaultStoreId: config.authz.defaultStoreId,
    decisionSampleRate: config.authz.audit.decisionSampleRate,
    auditSql: sql,
  });
  const server = createServer(
    withOpsEndpoints(
      traceRequests((req, res, span) => void handler(req, res, span), options.tracing ?? noTracing),
      {
        checks: { storage: () => sql.ping() },
        draining: options.draining,
        metrics: createMetricsRegistry('authz'),
      },
    ),
  );
  outlastBalancerIdleTimeouts(server);
  return server;
}
