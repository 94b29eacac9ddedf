import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkAccess } from '../auth/access-check.ts';
import { gatewayErrors } from '../errors.ts';
import { allowReason } from '../ops/decision-audit.ts';
import { setHsts } from '../ops/tls.ts';
import { normalizeRequestTarget } from '../routing/path-normalize.ts';
import { answerError } from './answer-error.ts';
import { Exchange } from './exchange.ts';
import type { GatewayContext } from './gateway-context.ts';
import { acquireInflightSlot } from './inflight-slot.ts';
import { handleReserved, isReservedPath } from './reserved-endpoints.ts';
import { forwardUpstream } from './upstream-request.ts';

/**
 * The request pipeline, one step after another:
 *
 * | order | step                                                        | file                 |
 * | ----- | ----------------------------------------------------------- | -------------------- |
 * | 1     | strip spoofable headers (identity, hop-by-hop, forwarding)  | header-sanitize.ts   |
 * | 2     | normalize the path once                                     | path-normalize.ts    |
 * | 3     | `/_gatehouse/*`: health, metrics, BFF, JWKS, forward-auth   | reserved-endpoints.ts|
 * | 4     | route, CORS preflight, authenticate, authorize, rate limit  | access-check.ts      |
 * | 5     | in-flight limit                                             | inflight-slot.ts     |
 * | 6     | set identity, tracing and forwarding headers                | upstream-request.ts  |
 * | 7     | proxy to a replica                                          | upstream-pool.ts     |
 *
 * Any step may throw a GatehouseError: `answerError` turns it into the answer.
 */
export async function handleRequest(
  gw: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const t = gw.table;
  t.active++;
  // Draining: the connection ends after this answer, so no next request is cut on it.
  if (gw.draining) res.setHeader('connection', 'close');
  const ex = new Exchange(gw, t, req, res);
  const finish = () => ex.finish();
  // `on`, not `once`: `finish` already makes the second call a no-op, without once's wrappers.
  res.on('finish', finish);
  res.on('close', finish);
  // X-Request-Id goes on every answer. Set on `res` only for answers the gateway writes itself
  // (errors, admin paths); a proxied answer gets it through the pool with the upstream's headers,
  // so that `writeHead` finds no headers set beforehand and takes node:http's fast path.
  const responseHeaders: Record<string, string> = { 'x-request-id': ex.requestId };
  if (gw.hsts && ex.encrypted) setHsts(res, gw.hsts);

  try {
    if (ex.clean.repeatedSingleton) {
      throw gatewayErrors.create('GW_BAD_REQUEST', `The ${ex.clean.repeatedSingleton} header is repeated`);
    }
    const norm = normalizeRequestTarget(req.url);
    if (norm.ok && isReservedPath(norm.path)) {
      res.setHeader('x-request-id', ex.requestId);
      ex.path = norm.path;
      ex.routeId = '_gatehouse';
      await handleReserved(gw, ex, res, norm.path);
      return;
    }

    const { bff } = gw;
    const granted = await checkAccess(
      {
        method: ex.method,
        host: req.headers.host,
        target: req.url,
        normalized: norm,
        headers: req.headers,
        clientAddress: ex.clientAddress,
        clientCertificateThumbprint: ex.clientCertificateThumbprint,
        browserSession: bff
          ? async (cookie, route) => {
              ex.bffClient = route.bffClient;
              ex.bffToken = await bff.accessToken(cookie, route.bffClient);
              return ex.bffToken;
            }
          : undefined,
      },
      t,
      gw.verifier,
      ex,
    );
    if (granted.preflight) {
      res.writeHead(204, { ...granted.preflight, ...responseHeaders, 'content-length': '0' });
      res.end();
      return;
    }
    if (ex.corsHeaders) Object.assign(responseHeaders, ex.corsHeaders);
    ex.principal = granted.principal;
    const route = granted.match.route;
    ex.decision = 'allow';
    ex.reason = allowReason(route);
    if (granted.rateHeaders) for (const [k, v] of Object.entries(granted.rateHeaders)) res.setHeader(k, v);

    await acquireInflightSlot(gw, ex, res, route);
    await forwardUpstream(gw, ex, res, route, granted.upstreamTarget, responseHeaders);
  } catch (caught) {
    await answerError(gw, ex, res, caught);
  }
}
