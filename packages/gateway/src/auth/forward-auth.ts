import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError } from '@gatehouse/core';
import type { Verifier } from '@gatehouse/sdk';
import type { Principal } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import type { RouteTable } from '../routing/route-table.ts';
import { type AccessHooks, checkAccess } from './access-check.ts';
import { identityHeaders } from './identity-headers.ts';

/**
 * The forward-auth endpoint, for teams that keep Traefik (`forwardAuth`), nginx (`auth_request`)
 * or Envoy (`ext_authz` HTTP) in front: the proxy asks here before passing a request on.
 * - Only trusted proxies may ask (their `X-Forwarded-*` describe the original request); anyone
 *   else gets 403 GW_FORWARD_AUTH_UNTRUSTED.
 * - The original request is `X-Forwarded-Method` / `X-Forwarded-Uri` / `X-Forwarded-Host`
 *   (Traefik), or `X-Original-Method` / `X-Original-URI` (nginx `auth_request` convention), or —
 *   Envoy `ext_authz` with `path_prefix: <forward-auth path>` — the request's own method, Host and
 *   the path after the prefix. It goes through the same normalization, routing, authentication,
 *   policy and rate limit as a proxied request (`checkAccess`).
 * - Allowed: 200, empty body, with the identity headers for the proxy to copy upstream.
 * - Refused: 401 and 403 as they are. A 400 (ambiguous path) or 404 (no route, internal route) is
 *   answered 403 with the same error code in the body: nginx reads any status but 2xx/401/403
 *   from an auth subrequest as a server error, and an unknown path must be denied, not crash.
 */
export async function handleForwardAuth(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: {
    table: RouteTable;
    verifier: Pick<Verifier, 'verifyAccessToken' | 'verifyAuthorization' | 'verifySessionToken'>;
    peerTrusted: boolean;
    clientAddress: string;
    requestId: string;
    hooks: AccessHooks;
    /** Envoy style: the original target, taken from the path after the forward-auth prefix. */
    prefixedTarget?: string | undefined;
  },
): Promise<Principal | undefined> {
  try {
    if (!ctx.peerTrusted) throw gatewayErrors.create('GW_FORWARD_AUTH_UNTRUSTED');
    const h = req.headers;
    const envoy = ctx.prefixedTarget !== undefined;
    const uri = envoy ? ctx.prefixedTarget : (single(h['x-forwarded-uri']) ?? single(h['x-original-uri']));
    if (uri === undefined) throw gatewayErrors.create('GW_FORWARD_AUTH_NO_URI');
    const method = envoy
      ? (req.method ?? 'GET')
      : (single(h['x-forwarded-method']) ?? single(h['x-original-method']) ?? 'GET');
    if (!/^[A-Z]{1,16}$/.test(method))
      throw gatewayErrors.create('GW_BAD_REQUEST', 'Invalid X-Forwarded-Method');
    const granted = await checkAccess(
      {
        method,
        host: envoy ? h.host : (single(h['x-forwarded-host']) ?? h.host),
        target: uri,
        headers: h,
        clientAddress: ctx.clientAddress,
      },
      ctx.table,
      ctx.verifier,
      ctx.hooks,
    );
    const headers: Record<string, string> = {
      'cache-control': 'no-store',
      'content-length': '0',
      'x-request-id': ctx.requestId,
    };
    if (granted.rateHeaders) Object.assign(headers, granted.rateHeaders);
    if (granted.principal) Object.assign(headers, identityHeaders(granted.principal));
    res.writeHead(200, headers);
    res.end();
    return granted.principal;
  } catch (err) {
    if (err instanceof GatehouseError && (err.status === 400 || err.status === 404)) {
      throw new GatehouseError(err.code, 403, err.message, { cause: err });
    }
    throw err;
  }
}

function single(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
