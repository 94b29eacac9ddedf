import type { Logger, Sql } from '@gatehouse/core';
import type { RouteConfig } from '@gatehouse/gateway';
import type { IdpClientConfig } from '@gatehouse/idp';

/**
 * The interface every reference system exports (docs/contracts.md, "Reference systems"). Types only:
 * the services themselves are built on `@gatehouse/sdk`.
 */
export interface Example {
  name: string;
  title: string;
  /** OAuth clients the identity provider must know (added to idp.clients in development). */
  clients(ctx: { publicUrl: string; issuer: string }): IdpClientConfig[];
  /** Start every service of the example on 127.0.0.1 port 0 (or fixed ports it documents). */
  start(ctx: ExampleContext): Promise<ExampleHandle>;
}

export interface ExampleContext {
  /** http://localhost:8080 (the gateway) */
  publicUrl: string;
  /** http://localhost:8080/auth */
  issuer: string;
  /** Internal JWKS URL to verify tokens locally. */
  jwksUri: string;
  /** Internal token endpoint for client credentials. */
  tokenEndpoint: string;
  /** Each service creates and uses its own schema (database per service). */
  sql: Sql;
  logger: Logger;
  mode: 'development' | 'production';
}

export interface ExampleService {
  name: string;
  url: string;
  healthPath: string;
  routes: string[];
}

export interface ExampleHandle {
  services: ExampleService[];
  /** routes.yaml with `service:<name>` resolved. */
  routes: RouteConfig[];
  close(): Promise<void>;
}

/** A person the example's walkthrough needs beyond the standard demo users (alice, bob). */
export interface ExampleDemoAccount {
  username: string;
  password: string;
  email: string;
  roles: string[];
}
