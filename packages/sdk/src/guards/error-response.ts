import { SdkError, sdkError } from '../errors.ts';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The response for a refusal: `{ error, message }` JSON with the error's status and headers, the
 * same bytes as the gateway's `sendError`. Anything that is not an SdkError is a bug: 500, no detail.
 */
export function errorResponse(err: unknown): ErrorResponse {
  const e = err instanceof SdkError ? err : sdkError('SDK_INTERNAL', undefined, { cause: err });
  const body = JSON.stringify(e.toJSON());
  return {
    status: e.status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...e.headers,
    },
    body,
  };
}
