import type { Server } from 'node:http';
import type { Logger, Sql } from '@gatehouse/core';
import type { PermissionClient, Verifier } from '@gatehouse/sdk';
import { createHonoGuard } from '@gatehouse/sdk/hono';
import { authenticateCaller } from '../../shared/src/hono-caller.ts';
import { requireUser, sameOriginForCookies } from './caller.ts';
import { createCatalog } from './catalog.ts';
import { shopErrors } from './errors.ts';
import { mountHealth } from './health.ts';
import { intField, limitBody, readJsonObject } from './json-body.ts';
import type { OrdersClient } from './orders-client.ts';
import { createServiceApp, toNodeServer } from './service-app.ts';

export interface ProductsServiceOptions {
  sql: Sql;
  logger: Logger;
  /** Accepts the gateway's audience: people's session cookies and access tokens. */
  verifier: Verifier;
  orders: OrdersClient;
  /** Checks on the `shop` store (model/shop.fga), with the decision cache its change feed keeps correct. */
  permissions: PermissionClient;
  /** The gateway's URL: the only origin a cookie-authenticated purchase may come from. */
  publicUrl: string;
  mode: 'development' | 'production';
  /** Replica name for the `X-Shop-Replica` header (development only). */
  replica?: string;
  /** True once shutdown has begun: `/health` then answers 503 SHOP_DRAINING. */
  draining?: () => boolean;
}

const PRODUCT_ID = /^[1-9][0-9]{0,8}$/;

/**
 * The products service:
 *
 * | route                       | who                                                         |
 * | --------------------------- | ----------------------------------------------------------- |
 * | `GET  /products`            | any signed-in person                                        |
 * | `GET  /products/admin`      | `can_view_back_office` on `shop:main` (also the gateway's)  |
 * | `POST /products/{id}/buy`   | any signed-in person: adds an order through the orders service, once (a fresh idempotency key per purchase) |
 * | `GET  /health`, `POST /fail`| probes; `/fail` in development only                         |
 */
export function createProductsService(options: ProductsServiceOptions): Server {
  const { logger } = options;
  const catalog = createCatalog(options.sql);
  const app = createServiceApp(logger, options.mode === 'development' ? options.replica : undefined);
  mountHealth(app, {
    service: options.replica ?? 'shop-products',
    mode: options.mode,
    logger,
    ...(options.draining ? { draining: options.draining } : {}),
  });
  const authenticate = authenticateCaller(options.verifier);
  // The back office is a permission rule, checked again here as the gateway did (defence in depth).
  const backOffice = createHonoGuard({ verifier: options.verifier, logger }).requirePermission({
    client: options.permissions,
    relation: 'can_view_back_office',
    object: 'shop:main',
    subject: { user: 'user:{username}' },
  });

  app.get('/products', authenticate, requireUser, async (c) =>
    c.json({ products: await catalog.list() }, 200, { 'cache-control': 'no-store' }),
  );

  app.get('/products/admin', authenticate, requireUser, backOffice, async (c) =>
    c.json({ products: await catalog.listForAdmin() }, 200, { 'cache-control': 'no-store' }),
  );

  app.post(
    '/products/:id/buy',
    limitBody(1024),
    sameOriginForCookies(options.publicUrl),
    authenticate,
    requireUser,
    async (c) => {
      const id = c.req.param('id');
      const product = PRODUCT_ID.test(id) ? await catalog.find(Number(id)) : undefined;
      if (!product) throw shopErrors.create('SHOP_PRODUCT_NOT_FOUND');
      const quantity = intField(await readJsonObject(c, ['quantity']), 'quantity', 1, 100, 1);
      const buyer = c.get('principal');
      const order = await options.orders.add({
        userId: buyer.subject,
        productId: product.id,
        productName: product.name,
        quantity,
        unitPriceCents: product.priceCents,
      });
      logger.info({ orderId: order.id, productId: product.id, user: buyer.subject }, 'product bought');
      return c.json({ order }, 201, { 'cache-control': 'no-store' });
    },
  );

  return toNodeServer(app);
}
