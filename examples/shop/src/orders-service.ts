import type { Server } from 'node:http';
import type { Logger, Sql } from '@gatehouse/core';
import { scopesRequirement, type Verifier } from '@gatehouse/sdk';
import type { MiddlewareHandler } from 'hono';
import { authenticateCaller, type CallerEnv } from '../../shared/src/hono-caller.ts';
import { requireUser } from './caller.ts';
import { shopErrors } from './errors.ts';
import { mountHealth } from './health.ts';
import { IDEMPOTENCY_KEY_HEADER, readIdempotencyKey } from './idempotency-key.ts';
import { intField, limitBody, readJsonObject, stringField } from './json-body.ts';
import { createOrderStore } from './order-store.ts';
import { createServiceApp, toNodeServer } from './service-app.ts';
import { ORDERS_ADD_SCOPE, ORDERS_AUDIENCE, PRODUCTS_CLIENT_ID } from './service-identities.ts';

export interface OrdersServiceOptions {
  sql: Sql;
  logger: Logger;
  /** Accepts the gateway's audience (people) and ORDERS_AUDIENCE (service tokens for this service). */
  verifier: Verifier;
  mode: 'development' | 'production';
  /** Replica name for the `X-Shop-Replica` header (development only). */
  replica?: string;
  /** True once shutdown has begun: `/health` then answers 503 SHOP_DRAINING. */
  draining?: () => boolean;
}

/**
 * The internal add endpoint's rule, every part checked so that each kind of wrong caller gets its
 * own code: a service token (not a person), of the products service, meant for this service, with
 * the right to add orders. The gateway never routes this endpoint (policy `internal`); this is what
 * protects it from anything that reaches the service directly.
 */
const requireProductsService: MiddlewareHandler<CallerEnv> = async (c, next) => {
  const p = c.get('principal');
  if (p.kind !== 'service') throw shopErrors.create('SHOP_SERVICE_TOKEN_REQUIRED');
  if (p.clientId !== PRODUCTS_CLIENT_ID) throw shopErrors.create('SHOP_CALLER_NOT_ALLOWED');
  if (!p.audience.includes(ORDERS_AUDIENCE)) throw shopErrors.create('SHOP_AUDIENCE_NOT_ALLOWED');
  scopesRequirement([ORDERS_ADD_SCOPE]).check(p);
  await next();
};

const ADD_FIELDS = ['userId', 'productId', 'productName', 'quantity', 'unitPriceCents'] as const;

/**
 * The orders service:
 *
 * | route                            | who                                                   |
 * | -------------------------------- | ----------------------------------------------------- |
 * | `GET  /orders`                   | a signed-in person: their own orders                  |
 * | `POST /microservice/orders/add`  | the products service's token (internal, not routed), with an `Idempotency-Key` |
 * | `GET  /health`, `POST /fail`     | probes; `/fail` in development only                   |
 */
export function createOrdersService(options: OrdersServiceOptions): Server {
  const { logger } = options;
  const store = createOrderStore(options.sql);
  const app = createServiceApp(logger, options.mode === 'development' ? options.replica : undefined);
  mountHealth(app, {
    service: options.replica ?? 'shop-orders',
    mode: options.mode,
    logger,
    ...(options.draining ? { draining: options.draining } : {}),
  });
  const authenticate = authenticateCaller(options.verifier);

  app.get('/orders', authenticate, requireUser, async (c) => {
    const orders = await store.listFor(c.get('principal').subject);
    return c.json({ orders }, 200, { 'cache-control': 'no-store' });
  });

  // Idempotent per caller and key: a retry after a lost answer gets the order stored the first time,
  // with the same status and body, and adds nothing.
  app.post('/microservice/orders/add', limitBody(4096), authenticate, requireProductsService, async (c) => {
    const key = readIdempotencyKey(c.req.header(IDEMPOTENCY_KEY_HEADER));
    const body = await readJsonObject(c, ADD_FIELDS);
    const { order, repeated } = await store.add(
      {
        userId: stringField(body, 'userId', 255),
        productId: intField(body, 'productId', 1, 2 ** 31 - 1),
        productName: stringField(body, 'productName', 200),
        quantity: intField(body, 'quantity', 1, 100),
        unitPriceCents: intField(body, 'unitPriceCents', 0, 100_000_000),
      },
      c.get('principal').clientId,
      key,
    );
    logger.info(
      { orderId: order.id, productId: order.productId, repeated },
      repeated ? 'order already added under this key' : 'order added',
    );
    return c.json({ order }, 201, { 'cache-control': 'no-store' });
  });

  return toNodeServer(app);
}
