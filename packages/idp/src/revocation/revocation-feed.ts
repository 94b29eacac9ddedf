import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { coreErrors, type Logger, sendError } from '@gatehouse/core';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { HttpHandler } from '../idp-server.ts';
import type { RevocationPublisher } from './revocation-publisher.ts';

/**
 * The durable revocation feed (`REVOCATIONS_FEED_PATH`, docs/contracts.md): gateways and SDK
 * services read it at start-up, after every reconnect of their pub/sub subscription and on a timer,
 * so a revocation whose message they missed still reaches them.
 *
 * - `GET ?since=<cursor>` → `{ revocations, cursor }`; no `since` (or `0`) lists every live one.
 * - With `idp.revocationFeedToken` set, `Authorization: Bearer <token>` must match it.
 * - Only on the identity provider's own listener: it lives under `/_gatehouse/`, which the gateway
 *   never routes upstream.
 */
export function createRevocationFeed(options: {
  revocations: RevocationPublisher;
  token: string | undefined;
  logger: Logger;
}): HttpHandler {
  const expected = options.token === undefined ? undefined : Buffer.from(`Bearer ${options.token}`);

  function authorized(req: IncomingMessage): boolean {
    if (!expected) return true;
    const given = Buffer.from(req.headers.authorization ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: 'GET' } });
    }
    if (!authorized(req)) {
      throw idpErrors.create('IDP_UNAUTHENTICATED', 'The revocation feed needs its bearer token', {
        headers: { 'www-authenticate': 'Bearer realm="gatehouse-revocations"' },
      });
    }
    const query = new URL(req.url ?? '/', 'http://feed.invalid').searchParams;
    for (const key of query.keys()) {
      if (key !== 'since')
        throw idpErrors.create('IDP_FIELD_UNKNOWN', `Unknown query parameter ${key.slice(0, 40)}`);
    }
    const since = query.getAll('since');
    if (since.length > 1 || (since[0] !== undefined && !/^\d{1,18}$/.test(since[0]))) {
      throw idpErrors.create('IDP_FIELD_INVALID', 'Query parameter since must be a cursor the feed gave');
    }
    sendJson(res, 200, await options.revocations.since(since[0] ?? '0'));
  }

  return (req, res) =>
    serve(req, res).catch((err: unknown) => {
      const status = (err as { status?: number }).status;
      if (typeof status === 'number' && status < 500) {
        options.logger.warn({ code: (err as { code?: string }).code }, 'revocation feed request refused');
      } else {
        options.logger.error({ err }, 'revocation feed failed');
      }
      sendError(res, err);
    });
}
