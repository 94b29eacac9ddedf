import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// An inbound id is kept only when it is short and plain, so it cannot inject into logs or headers.
const SAFE_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** The request id for one request: a well-formed inbound `X-Request-Id`, or a new UUID. */
export function requestIdOf(req: IncomingMessage, trustInbound: boolean): string {
  const inbound = req.headers['x-request-id'];
  if (trustInbound && typeof inbound === 'string' && SAFE_ID.test(inbound)) return inbound;
  return randomUUID();
}
