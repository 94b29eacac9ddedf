import type { Logger } from '@gatehouse/core';

/**
 * One JSON line per request. Only what cannot carry a credential: no headers, no query string
 * (it may hold `access_token=`), no cookies; the path is the normalized one.
 */
export interface AccessLogEntry {
  requestId: string;
  method: string;
  path: string;
  route: string;
  status: number;
  durationMs: number;
  client: string;
  user?: string;
  error?: string;
}

export function writeAccessLog(logger: Logger, entry: AccessLogEntry): void {
  logger.info({ access: entry }, 'request');
}
