/**
 * One shop service as a process of its own, as a team deploys it: `products` or `orders`, on its own
 * port, against PostgreSQL, verifying tokens against the identity provider's JWKS over HTTPS. Used by
 * the production topology (scripts/topology.ts); `gatehouse dev` runs the services in its own process
 * instead (index.ts).
 *
 *   node examples/shop/src/serve.ts products|orders --port PORT
 *
 * Everything else comes from the environment:
 *
 * | variable                      | meaning                                                         |
 * | ----------------------------- | --------------------------------------------------------------- |
 * | `SHOP_DATABASE_URL`           | PostgreSQL URL (the service migrates its own schema at start)   |
 * | `SHOP_PUBLIC_URL`             | the gateway's public origin (audience, allowed cookie origin)   |
 * | `SHOP_ISSUER`                 | the identity provider's issuer (default public URL + /auth)     |
 * | `SHOP_JWKS_URI`               | its JWKS (default issuer + /jwks)                               |
 * | `SHOP_TOKEN_ENDPOINT`         | products: its token endpoint (default issuer + /token)          |
 * | `SHOP_ORDERS_URLS`            | products: the orders replicas, comma-separated                  |
 * | `SHOP_PRODUCTS_CLIENT_SECRET` | products: the `shop-products` client secret                     |
 * | `SHOP_MODE`                   | `production` (default) or `development`                         |
 * | `SHOP_DRAIN_DELAY_MS`         | on SIGTERM, how long readiness fails before the listener closes |
 */
import { parseArgs } from 'node:util';
import { authzMigrations, createAuthz } from '@gatehouse/authz';
import { createLogger, migrate, openSql, Shutdown } from '@gatehouse/core';
import { createPermissionClient, createServiceClient, createVerifier } from '@gatehouse/sdk';
import { ensurePermissionStore } from '../../shared/src/permission-store.ts';
import { productsMigrations } from './catalog.ts';
import { SHOP_STORE } from './index.ts';
import { ordersMigrations } from './order-store.ts';
import { createOrdersClient } from './orders-client.ts';
import { createOrdersService } from './orders-service.ts';
import { createProductsService } from './products-service.ts';
import { ORDERS_ADD_SCOPE, ORDERS_AUDIENCE, PRODUCTS_CLIENT_ID } from './service-identities.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`shop: ${name} is required`);
    process.exit(2);
  }
  return value;
}

const { values, positionals } = parseArgs({
  options: { port: { type: 'string', short: 'p' }, name: { type: 'string' } },
  allowPositionals: true,
});
const service = positionals[0];
if ((service !== 'products' && service !== 'orders') || positionals.length !== 1) {
  console.error('usage: node examples/shop/src/serve.ts products|orders --port PORT [--name NAME]');
  process.exit(2);
}
const port = Number(values.port ?? 0);
const mode = process.env['SHOP_MODE'] === 'development' ? 'development' : 'production';
const publicUrl = required('SHOP_PUBLIC_URL').replace(/\/$/, '');
const issuer = process.env['SHOP_ISSUER'] ?? `${publicUrl}/auth`;
const jwksUri = process.env['SHOP_JWKS_URI'] ?? `${issuer}/jwks`;
const name = values.name ?? `shop-${service}`;
const logger = createLogger({ level: 'info', name });
const shutdown = new Shutdown(logger, 5000, Number(process.env['SHOP_DRAIN_DELAY_MS'] ?? 0));
const sql = await openSql({ driver: 'postgres', url: required('SHOP_DATABASE_URL') });
shutdown.add('sql', () => sql.close());
await migrate(sql, service === 'products' ? [productsMigrations, authzMigrations] : [ordersMigrations]);

/**
 * The back office's permission store, on the same database the gateways' engine reads. Created by
 * the first products replica to start (the topology starts one before the others, so two never race
 * to create it); never seeded in production: an operator grants the back office.
 */
async function backOfficePermissions() {
  const authz = createAuthz({ sql });
  const store = await ensurePermissionStore(authz, SHOP_STORE, { seed: false });
  const permissions = createPermissionClient({ store, backend: authz, logger });
  shutdown.add('permissions', () => permissions.close());
  return permissions;
}

const server =
  service === 'orders'
    ? createOrdersService({
        sql,
        logger,
        verifier: createVerifier({ issuer, audiences: [publicUrl, ORDERS_AUDIENCE], jwksUri }),
        mode,
        replica: name,
        draining: () => shutdown.draining,
      })
    : createProductsService({
        sql,
        publicUrl,
        logger,
        verifier: createVerifier({ issuer, audiences: [publicUrl], jwksUri }),
        permissions: await backOfficePermissions(),
        orders: createOrdersClient({
          urls: required('SHOP_ORDERS_URLS').split(','),
          tokens: createServiceClient({
            tokenEndpoint: process.env['SHOP_TOKEN_ENDPOINT'] ?? `${issuer}/token`,
            clientId: PRODUCTS_CLIENT_ID,
            credentials: { clientSecret: required('SHOP_PRODUCTS_CLIENT_SECRET') },
            scope: ORDERS_ADD_SCOPE,
          }),
          logger,
        }),
        mode,
        replica: name,
        draining: () => shutdown.draining,
      });
shutdown.addServer(server);
shutdown.installSignalHandlers();
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  logger.info({ port: typeof address === 'object' && address ? address.port : port }, `${name} listening`);
});
