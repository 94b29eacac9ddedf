import { randomUUID } from 'node:crypto';
import type { Logger } from '@gatehouse/core';
import { isSdkError, type ServiceClient } from '@gatehouse/sdk';
import { shopErrors } from './errors.ts';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency-key.ts';
import type { NewOrder, Order } from './order-store.ts';
import { ORDERS_ADD_SCOPE, ORDERS_AUDIENCE } from './service-identities.ts';

export interface OrdersClientOptions {
  /** The orders service's replicas, called directly: the gateway does not route internal endpoints. */
  urls: string[];
  /** Client-credentials tokens of the products service (cached until shortly before expiry). */
  tokens: Pick<ServiceClient, 'fetch'>;
  logger: Logger;
  /**
   * How long one call may take, every retry included (default 25 s). Kept under the gateway's
   * upstream timeout (30 s by default) so that, on an overloaded machine, the products service
   * answers with its own error code before the gateway gives up on the whole request: with 5 s,
   * 1,000 virtual users on two cores (steps queued for 4–8 s) turned about 5 % of purchases into
   * 503s that were only slow.
   */
  timeoutMs?: number;
}

export interface OrdersClient {
  /**
   * Adds one order. `idempotencyKey` names the purchase (default: a fresh random UUID, right when
   * one call is one purchase); every try of this call sends the same key.
   */
  add(order: NewOrder, idempotencyKey?: string): Promise<Order>;
}

/**
 * Failures of the connection itself, before an answer was read: refused (the request never left),
 * reset or closed by the other side (`ECONNRESET`, `other side closed`: a replica shutting down, or
 * closing an idle kept-alive connection just as a request went out on it). The request may or may
 * not have been handled; with its idempotency key, sending it again is safe either way.
 */
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * The products service's side of `POST /microservice/orders/add`, with its own service token
 * (audience ORDERS_AUDIENCE, scope orders:add) and an `Idempotency-Key`. Replicas are taken in turn;
 * on a connection failure the same request, same key, goes to the next one (each replica once, and
 * the first again: with a single replica, a fresh connection is what saves the request), within
 * `timeoutMs` for the whole call. An HTTP answer is never retried: the orders service stays ready
 * while it drains, so any refusal it answers is its real answer (502 SHOP_ORDER_REFUSED).
 * A token that cannot be had fails with the sdk's own code (SDK_TOKEN_ENDPOINT_UNAVAILABLE, 503).
 */
export function createOrdersClient(options: OrdersClientOptions): OrdersClient {
  const { urls, tokens, logger } = options;
  const timeoutMs = options.timeoutMs ?? 25_000;
  let next = 0;
  return {
    async add(order, idempotencyKey = randomUUID()) {
      const signal = AbortSignal.timeout(timeoutMs);
      const start = next++;
      let lastFailure: unknown;
      for (let i = 0; i <= urls.length; i++) {
        const url = `${urls[(start + i) % urls.length]}/microservice/orders/add`;
        let res: Response;
        let text: string;
        try {
          res = await tokens.fetch(
            url,
            {
              method: 'POST',
              headers: { 'content-type': 'application/json', [IDEMPOTENCY_KEY_HEADER]: idempotencyKey },
              body: JSON.stringify(order),
              signal,
            },
            { audience: ORDERS_AUDIENCE, scope: ORDERS_ADD_SCOPE },
          );
          text = await res.text();
        } catch (err) {
          if (isSdkError(err)) throw err;
          if (signal.aborted || !connectionFailure(err))
            throw shopErrors.create('SHOP_ORDERS_UNAVAILABLE', undefined, { cause: err });
          lastFailure = err;
          logger.warn({ url, code: failureCode(err) }, 'orders replica lost the connection; trying the next');
          continue;
        }
        const body = parseJson(text) as { order?: Order; error?: unknown };
        if (res.status === 201 && body.order) return body.order;
        logger.warn({ status: res.status, error: body.error }, 'the orders service refused an order');
        throw shopErrors.create('SHOP_ORDER_REFUSED');
      }
      throw shopErrors.create('SHOP_ORDERS_UNAVAILABLE', undefined, { cause: lastFailure });
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/** undici's `fetch failed` / `terminated` TypeError carries the socket's error as its cause. */
function failureCode(err: unknown): unknown {
  return (err as { cause?: { code?: unknown } }).cause?.code;
}

function connectionFailure(err: unknown): boolean {
  const code = failureCode(err);
  return err instanceof TypeError && typeof code === 'string' && CONNECTION_FAILURES.has(code);
}
