import type { ServerResponse } from 'node:http';
import { GatehouseError, sendError } from '@gatehouse/core';
import { browserLoginLocation } from '../auth/browser-login.ts';
import { gatewayErrors } from '../errors.ts';
import type { Exchange } from './exchange.ts';
import type { GatewayContext } from './gateway-context.ts';

/**
 * The answer to a request some step refused or failed: the error as JSON with the request id and
 * the route's CORS headers, counted in the metrics; or, for a browser on its BFF session, the
 * sign-in page (at the route's step-up level when that was what fell short).
 */
export async function answerError(
  gw: GatewayContext,
  ex: Exchange,
  res: ServerResponse,
  caught: unknown,
): Promise<void> {
  const { bff, metrics, logger } = gw;
  const { req, routeId, requestId } = ex;
  let err: unknown = caught;
  if (!res.headersSent && !res.hasHeader('x-request-id')) res.setHeader('x-request-id', requestId);
  if (ex.corsHeaders && !res.headersSent)
    for (const [k, v] of Object.entries(ex.corsHeaders)) res.setHeader(k, v);
  ex.errorCode = err instanceof GatehouseError ? err.code : 'GW_INTERNAL';
  // Refused by the access check, or by the in-flight limit after it; a failure further on
  // (upstream) leaves the allow standing.
  if (ex.decision === undefined || ex.errorCode === 'GW_TOO_MANY_INFLIGHT') {
    ex.decision = 'deny';
    ex.reason = ex.errorCode;
  }
  // A browser on its BFF session that falls short of a route's step-up signs in again at that
  // level and comes back (step-up.ts); API callers get the RFC 9470 challenge.
  if (
    bff &&
    ex.bffToken !== undefined &&
    (ex.method === 'GET' || ex.method === 'HEAD') &&
    gatewayErrors.is(err, 'GW_STEP_UP_REQUIRED') &&
    !res.headersSent
  ) {
    const ask = err.details as { acrValues?: string; maxAge?: number };
    try {
      await bff.stepUp(res, ex.path === '-' ? '/' : `${ex.path}${queryOf(req.url)}`, ask, ex.bffClient);
      return;
    } catch (stepUpErr) {
      err = stepUpErr;
      ex.errorCode = stepUpErr instanceof GatehouseError ? stepUpErr.code : 'GW_INTERNAL';
    }
  }
  if (err instanceof GatehouseError) {
    if (err.status === 401 || err.status === 403) metrics.authFailure(err.code);
    if (err.code === 'GW_RATE_LIMITED') metrics.limitRejected(routeId, 'rate');
    if (err.code === 'GW_TOO_MANY_INFLIGHT') metrics.limitRejected(routeId, 'inflight');
    if (err.status >= 500) logger.warn({ code: err.code, route: routeId, requestId }, err.message);
    // A person on a page gets the sign-in page instead of a 401 (looked up only on this path).
    const login =
      bff && !res.headersSent
        ? browserLoginLocation(
            req,
            ex.t.config.routes.find((r) => r.id === routeId),
            err,
            bff.loginPath,
          )
        : undefined;
    if (login !== undefined) {
      res.writeHead(302, { location: login, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    sendError(res, err);
  } else {
    logger.error({ err, route: routeId, requestId }, 'request failed');
    sendError(res, gatewayErrors.create('GW_INTERNAL', undefined, { cause: err }));
  }
}

/** The query of a request target, with its `?`, or ''. */
function queryOf(target: string | undefined): string {
  const q = target?.indexOf('?') ?? -1;
  return q === -1 ? '' : target!.slice(q);
}
