import { defineErrors, GatehouseError } from '@gatehouse/core';
import { errorResponse, isSdkError } from '@gatehouse/sdk';

/** Every refusal of the shop's services: a stable code, one status. Listed in the README. */
export const shopErrors = defineErrors({
  SHOP_NOT_FOUND: { status: 404, message: 'No such endpoint' },
  SHOP_PRODUCT_NOT_FOUND: { status: 404, message: 'No such product' },
  SHOP_BAD_REQUEST: { status: 400, message: 'The request body is invalid' },
  SHOP_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  SHOP_IDEMPOTENCY_KEY_MISSING: { status: 400, message: 'The Idempotency-Key header is required' },
  SHOP_IDEMPOTENCY_KEY_INVALID: {
    status: 400,
    message: 'The Idempotency-Key header must be 1 to 64 characters from A-Z a-z 0-9 - _',
  },
  SHOP_IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    message: 'This Idempotency-Key was already used for a different order',
  },
  SHOP_CROSS_SITE_REQUEST: { status: 403, message: 'A cross-site request cannot use the session cookie' },
  SHOP_USER_REQUIRED: { status: 403, message: 'This endpoint serves people, not services' },
  SHOP_SERVICE_TOKEN_REQUIRED: { status: 403, message: 'This internal endpoint takes a service token only' },
  SHOP_CALLER_NOT_ALLOWED: { status: 403, message: 'This service may not call this endpoint' },
  SHOP_AUDIENCE_NOT_ALLOWED: { status: 403, message: 'The token is not meant for this service' },
  SHOP_ORDERS_UNAVAILABLE: { status: 503, message: 'The orders service cannot be reached' },
  SHOP_ORDER_REFUSED: { status: 502, message: 'The orders service refused the order' },
  SHOP_UNHEALTHY: { status: 503, message: 'Unhealthy (the /fail switch is on)' },
  SHOP_DRAINING: { status: 503, message: 'This replica is shutting down' },
  SHOP_INTERNAL: { status: 500, message: 'Internal error' },
});

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/**
 * The answer for a refusal: `{ error, message }` with the error's status, in the same form as the
 * gateway and the sdk guards. An sdk error keeps its `WWW-Authenticate`; anything unexpected is a
 * 500 without detail (the caller learns nothing about the internals).
 */
export function errorAnswer(err: unknown): Response {
  if (isSdkError(err)) {
    const { status, headers, body } = errorResponse(err);
    return new Response(body, { status, headers });
  }
  const e = err instanceof GatehouseError ? err : shopErrors.create('SHOP_INTERNAL');
  const message = e.status >= 500 ? (e.publicMessage ?? 'Internal error') : e.message;
  return new Response(JSON.stringify({ error: e.code, message }), {
    status: e.status,
    headers: { ...JSON_HEADERS, ...e.headers },
  });
}
