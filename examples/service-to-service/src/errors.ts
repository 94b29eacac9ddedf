import { defineErrors, GatehouseError } from '@gatehouse/core';
import { errorResponse, isSdkError } from '@gatehouse/sdk';

/** Refusals of the two services: a stable code, one status. Listed in the README. */
export const s2sErrors = defineErrors({
  S2S_NOT_FOUND: { status: 404, message: 'No such endpoint' },
  S2S_CALLER_NOT_ALLOWED: { status: 403, message: 'This service may not call Service B' },
  S2S_SERVICE_B_UNAVAILABLE: { status: 503, message: 'Service B cannot be reached' },
  S2S_SERVICE_B_REFUSED: { status: 502, message: 'Service B refused the call' },
  S2S_INTERNAL: { status: 500, message: 'Internal error' },
});

/**
 * `{ error, message }` with the error's status, as the gateway and the sdk guards answer. An sdk error
 * (a refused token, or SDK_TOKEN_ENDPOINT_UNAVAILABLE when no token can be had) keeps its code.
 */
export function errorAnswer(err: unknown): Response {
  if (isSdkError(err)) {
    const { status, headers, body } = errorResponse(err);
    return new Response(body, { status, headers });
  }
  const e = err instanceof GatehouseError ? err : s2sErrors.create('S2S_INTERNAL');
  const message = e.status >= 500 ? (e.publicMessage ?? 'Internal error') : e.message;
  return new Response(JSON.stringify({ error: e.code, message }), {
    status: e.status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...e.headers },
  });
}
