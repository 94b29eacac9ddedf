import { defineErrors, GatehouseError } from '@gatehouse/core';
import { errorResponse, isSdkError } from '@gatehouse/sdk';

/** Every refusal of the beep service: a stable code, one status. Listed in the README. */
export const beepErrors = defineErrors({
  BEEP_NOT_FOUND: { status: 404, message: 'No such endpoint' },
  BEEP_ROLE_NOT_FOUND: { status: 404, message: 'No such role on this server' },
  BEEP_CHANNEL_NOT_FOUND: { status: 404, message: 'No such channel' },
  BEEP_BAD_REQUEST: { status: 400, message: 'The request is invalid' },
  BEEP_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  BEEP_USER_REQUIRED: { status: 403, message: 'This endpoint serves people, not services' },
  BEEP_ADMINISTRATOR_REQUIRED: { status: 403, message: 'Only an administrator may grant this permission' },
  BEEP_INVITE_INVALID: { status: 403, message: 'This invitation is unknown, expired or not for you' },
  BEEP_INTERNAL: { status: 500, message: 'Internal error' },
});

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/**
 * The answer for a refusal: `{ error, message }` with the error's status, in the same form as the
 * gateway and the sdk guards; anything unexpected is a 500 without detail.
 */
export function errorAnswer(err: unknown): Response {
  if (isSdkError(err)) {
    const { status, headers, body } = errorResponse(err);
    return new Response(body, { status, headers });
  }
  const e = err instanceof GatehouseError ? err : beepErrors.create('BEEP_INTERNAL');
  const message = e.status >= 500 ? (e.publicMessage ?? 'Internal error') : e.message;
  return new Response(JSON.stringify({ error: e.code, message }), {
    status: e.status,
    headers: { ...JSON_HEADERS, ...e.headers },
  });
}
