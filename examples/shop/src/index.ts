import type { Server } from 'node:http';
import { authzMigrations, createAuthz } from '@gatehouse/authz';
import { migrate } from '@gatehouse/core';
import { createPermissionClient, createServiceClient, createVerifier } from '@gatehouse/sdk';
import type { Example, ExampleContext, ExampleHandle, ExampleService } from '../../example-contract.ts';
import { closeServer, listen } from '../../shared/src/listen.ts';
import { ensurePermissionStore } from '../../shared/src/permission-store.ts';
import { loadRoutesFile } from '../../shared/src/routes-file.ts';
import { productsMigrations } from './catalog.ts';
import { ordersMigrations } from './order-store.ts';
import { createOrdersClient } from './orders-client.ts';
import { createOrdersService } from './orders-service.ts';
import { createProductsService } from './products-service.ts';
import {
  DEV_PRODUCTS_CLIENT_SECRET,
  ORDERS_ADD_SCOPE,
  ORDERS_AUDIENCE,
  PRODUCTS_CLIENT_ID,
} from './service-identities.ts';

export type { Example, ExampleContext, ExampleHandle, ExampleService } from '../../example-contract.ts';
export { ORDERS_ADD_SCOPE, ORDERS_AUDIENCE, PRODUCTS_CLIENT_ID } from './service-identities.ts';

export interface ShopOptions {
  /** Replicas of each service, behind the gateway's load balancing. Default `SHOP_REPLICAS` or 1. */
  replicas?: number;
  /** Rate and in-flight limits of routes.yaml. Default on unless `SHOP_LIMITS=off`. */
  limits?: boolean;
  /** The products service's client secret. Default `SHOP_PRODUCTS_CLIENT_SECRET`, else (development only) a public one. */
  productsClientSecret?: string;
}

const ROUTES_FILE = new URL('../routes.yaml', import.meta.url);
/** The back office's permission store (routes.yaml names it too). */
export const SHOP_STORE = {
  name: 'shop',
  modelFile: new URL('../model/shop.fga', import.meta.url),
  seedFile: new URL('../model/shop-tuples.yaml', import.meta.url),
};
const PRODUCTS_ROUTES = ['/products', '/products/admin', '/products/{id}/buy'];
const ORDERS_ROUTES = ['/orders'];

function replicasFrom(env: string | undefined): number {
  if (env === undefined || env === '') return 1;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new Error('SHOP_REPLICAS must be an integer from 1 to 5');
  return n;
}

function limitsFrom(env: string | undefined): boolean {
  if (env === undefined || env === '' || env === 'on') return true;
  if (env === 'off') return false;
  throw new Error('SHOP_LIMITS must be "on" or "off"');
}

function productsSecret(options: ShopOptions): string {
  return (
    options.productsClientSecret ?? process.env['SHOP_PRODUCTS_CLIENT_SECRET'] ?? DEV_PRODUCTS_CLIENT_SECRET
  );
}

/** The e-commerce reference system with explicit options (tests, benchmarks). */
export function createShopExample(options: ShopOptions = {}): Example {
  return {
    name: 'shop',
    title: 'E-commerce behind an API gateway',
    clients: () => [
      {
        clientId: PRODUCTS_CLIENT_ID,
        clientSecret: productsSecret(options),
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        postLogoutRedirectUris: [],
        // No OpenID scopes: the products service only asks for `orders:add` on ORDERS_AUDIENCE.
        scope: '',
        roles: ['service'],
        firstParty: true,
        // The only client allowed a token for the orders service, and only to add orders.
        resources: { [ORDERS_AUDIENCE]: [ORDERS_ADD_SCOPE] },
      },
    ],
    resources: () => [ORDERS_AUDIENCE],
    start: (ctx) => startShop(ctx, options),
  };
}

/** What `gatehouse dev` imports. */
export const example: Example = createShopExample();

async function startShop(ctx: ExampleContext, options: ShopOptions): Promise<ExampleHandle> {
  const replicas = options.replicas ?? replicasFrom(process.env['SHOP_REPLICAS']);
  const limits = options.limits ?? limitsFrom(process.env['SHOP_LIMITS']);
  const secret = productsSecret(options);
  if (ctx.mode === 'production' && secret === DEV_PRODUCTS_CLIENT_SECRET) {
    throw new Error('shop: set SHOP_PRODUCTS_CLIENT_SECRET; the development secret is public');
  }
  await migrate(ctx.sql, [productsMigrations, ordersMigrations, authzMigrations]);
  // On the shared storage, where the gateway's in-process engine reads the same store.
  const authz = createAuthz({ sql: ctx.sql });
  const storeId = await ensurePermissionStore(authz, SHOP_STORE, { seed: ctx.mode === 'development' });

  const servers: Server[] = [];
  const services: ExampleService[] = [];
  const permissionClients: { close(): Promise<void> }[] = [];
  const close = async () => {
    await Promise.all(servers.map(closeServer));
    await Promise.all(permissionClients.map((p) => p.close()));
  };
  const serve = async (server: Server, name: string, routes: string[]) => {
    servers.push(server);
    const url = await listen(server);
    services.push({ name, url, healthPath: '/health', routes });
    return url;
  };
  const replicaName = (service: string, i: number) => (replicas > 1 ? `${service}-${i + 1}` : service);

  try {
    const ordersUrls: string[] = [];
    for (let i = 0; i < replicas; i++) {
      const logger = ctx.logger.child({ service: 'shop-orders', replica: i + 1 });
      // Each replica has its own verifier, as separate processes would: keys fetched once, then cached.
      const verifier = createVerifier({
        issuer: ctx.issuer,
        audiences: [ctx.publicUrl, ORDERS_AUDIENCE],
        jwksUri: ctx.jwksUri,
      });
      const name = replicaName('shop-orders', i);
      const server = createOrdersService({ sql: ctx.sql, logger, verifier, mode: ctx.mode, replica: name });
      ordersUrls.push(await serve(server, name, ORDERS_ROUTES));
    }

    const productsUrls: string[] = [];
    for (let i = 0; i < replicas; i++) {
      const logger = ctx.logger.child({ service: 'shop-products', replica: i + 1 });
      const verifier = createVerifier({
        issuer: ctx.issuer,
        audiences: [ctx.publicUrl],
        jwksUri: ctx.jwksUri,
      });
      const tokens = createServiceClient({
        tokenEndpoint: ctx.tokenEndpoint,
        clientId: PRODUCTS_CLIENT_ID,
        credentials: { clientSecret: secret },
        scope: ORDERS_ADD_SCOPE,
      });
      const orders = createOrdersClient({ urls: ordersUrls, tokens, logger });
      const permissions = createPermissionClient({ store: storeId, backend: authz, logger });
      permissionClients.push(permissions);
      const name = replicaName('shop-products', i);
      const server = createProductsService({
        sql: ctx.sql,
        publicUrl: ctx.publicUrl,
        logger,
        verifier,
        orders,
        permissions,
        mode: ctx.mode,
        replica: name,
      });
      productsUrls.push(await serve(server, name, PRODUCTS_ROUTES));
    }

    const routes = await loadRoutesFile(ROUTES_FILE, {
      services: { products: productsUrls, orders: ordersUrls },
      limits,
    });
    ctx.logger.info({ replicas, limits }, 'shop started');
    return { services, routes, close };
  } catch (err) {
    await close();
    throw err;
  }
}
