import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createTrustedProxies, type TrustedProxies } from '@gatehouse/core';

/**
 * The identity provider's trusted proxies (`idp.accounts.trustedProxies`: the gateway in front of
 * it). They may speak for a client through any number of hops, each of them trusted: the client is
 * the rightmost X-Forwarded-For entry that is not itself a trusted proxy, as the gateway reads it.
 */
export function idpTrustedProxies(addresses: readonly string[]): TrustedProxies {
  return createTrustedProxies(addresses, Number.MAX_SAFE_INTEGER);
}

/**
 * The address a request came from. X-Forwarded-For is believed only from a trusted proxy; entries
 * further left than the first untrusted hop were written by the client and prove nothing.
 */
export function clientAddress(req: IncomingMessage, proxies: TrustedProxies): string {
  const header = req.headers['x-forwarded-for'];
  const forwardedFor = Array.isArray(header) ? header.join(',') : header;
  return proxies.clientAddress(req.socket.remoteAddress, forwardedFor) || 'unknown';
}

/** Whether the request came over HTTPS: the socket's own TLS, or X-Forwarded-Proto from a trusted proxy. */
export function requestIsHttps(req: IncomingMessage, proxies: TrustedProxies): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  const proto = req.headers['x-forwarded-proto'];
  return (
    proxies.isTrusted(req.socket.remoteAddress) &&
    typeof proto === 'string' &&
    proto.split(',')[0]!.trim() === 'https'
  );
}

/** The origin the request was addressed to (scheme from requestIsHttps, host from Host). */
export function requestOrigin(req: IncomingMessage, proxies: TrustedProxies): string | undefined {
  const host = req.headers.host;
  if (!host || !/^[A-Za-z0-9.\-[\]:]+$/.test(host)) return undefined;
  return `${requestIsHttps(req, proxies) ? 'https' : 'http'}://${host.toLowerCase()}`;
}
