import type { ServerResponse } from 'node:http';
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

/**
 * Write a refusal on a node:http response (Express's too): `{ error, message }` JSON with its status
 * and `WWW-Authenticate`. A response already begun cannot become a refusal: it is cut off.
 */
export function sendSdkError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { status, headers, body } = errorResponse(err);
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
