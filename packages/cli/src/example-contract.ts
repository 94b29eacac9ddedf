import type { Logger, Sql } from '@gatehouse/core';
import type { RouteConfig } from '@gatehouse/gateway';
import type { IdpClientConfig } from '@gatehouse/idp';

/**
 * The interface every reference system exports (docs/contracts.md, "Reference systems"). Types only:
 * the services themselves are built on `@gatehouse/sdk`. `gatehouse dev` (stack.ts)
 * adds each example's clients, resources, roles and demo accounts to the identity provider, starts
 * its services and puts its routes in front of them.
 */
export interface Example {
  name: string;
  title: string;
  /** OAuth clients the identity provider must know (added to idp.clients in development). */
  clients(ctx: { publicUrl: string; issuer: string }): IdpClientConfig[];
  /**
   * Resource indicators (RFC 8707) the example's services are audiences of, added to
   * `idp.resources` so a client may ask for a token meant for them.
   */
  resources?(ctx: { publicUrl: string; issuer: string }): string[];
  /** Roles the example's policies name beyond `admin` and `user` (development seeding). */
  roles?: readonly { name: string; description?: string }[];
  /** People the example's walkthrough needs beyond alice and bob (development seeding). */
  demoAccounts?: readonly ExampleDemoAccount[];
  /**
   * Why the example cannot run on this machine (a missing runtime or package), or undefined when it
   * can; `gatehouse dev` leaves it out and prints the reason.
   */
  unavailable?(): Promise<string | undefined>;
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
  /** Its page for people as a browser reaches it (a path on the gateway, or its own origin). */
  page?: string;
}

export interface ExampleHandle {
  services: ExampleService[];
  /** routes.yaml with `service:<name>` resolved to the replicas' URLs. */
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
