import type { ServerResponse } from 'node:http';
import { handleHealth, serveMetrics } from '@gatehouse/core';
import type { AssertionKey } from '../auth/assertion-key.ts';
import { handleForwardAuth } from '../auth/forward-auth.ts';
import { gatewayErrors } from '../errors.ts';
import type { Exchange } from './exchange.ts';
import type { GatewayContext } from './gateway-context.ts';

const RESERVED_PREFIX = '/_gatehouse/';

/** True for the gateway's own paths, under `/_gatehouse/`: never routed upstream. */
export function isReservedPath(path: string): boolean {
  return path.startsWith(RESERVED_PREFIX) || path === '/_gatehouse';
}

/**
 * The gateway's own endpoints: `/_gatehouse/health/live` and `/health/ready`, `/_gatehouse/metrics`
 * (trusted proxies and loopback only: metrics describe traffic and should not be public), the BFF's
 * login paths, `/_gatehouse/jwks` (the assertion key) and the forward-auth path. Anything else under
 * the prefix is 404.
 */
export async function handleReserved(
  gw: GatewayContext,
  ex: Exchange,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const { req } = ex;
  const sub = path.slice('/_gatehouse'.length);
  if (sub === '/health/live' || sub === '/health/ready') {
    handleHealth(req, res, sub, { checks: gw.readiness, draining: () => gw.draining });
    return;
  }
  if (sub === '/metrics' && (ex.peerTrusted || isLoopback(ex.peer))) {
    await serveMetrics(gw.registry, req, res);
    return;
  }
  if (gw.bff?.owns(path)) {
    await gw.bff.handle(req, res, path);
    return;
  }
  if (sub === '/jwks' && gw.assertionKey) {
    serveJwks(res, gw.assertionKey);
    return;
  }
  const fa = ex.t.config.forwardAuth;
  if (fa.enabled && (path === fa.path || path.startsWith(`${fa.path}/`))) {
    // Envoy appends the original path to the prefix; read it from the raw target so it is
    // normalized exactly once, as the original, and refuse a prefix written any other way.
    const raw = req.url ?? '';
    const prefixedTarget =
      path === fa.path ? undefined : raw.startsWith(`${fa.path}/`) ? raw.slice(fa.path.length) : '';
    ex.principal = await handleForwardAuth(req, res, {
      table: ex.t,
      verifier: gw.verifier,
      peerTrusted: ex.peerTrusted,
      clientAddress: ex.clientAddress,
      requestId: ex.requestId,
      hooks: {},
      prefixedTarget,
    });
    return;
  }
  throw gatewayErrors.create('GW_NOT_FOUND');
}

/** The assertion key's public half, for services that verify `X-Gatehouse-Assertion`. */
function serveJwks(res: ServerResponse, key: AssertionKey): void {
  const body = JSON.stringify(key.jwks);
  res.writeHead(200, {
    'content-type': 'application/jwk-set+json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'public, max-age=300',
  });
  res.end(body);
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}
