import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { TrustedProxies } from './trusted-proxies.ts';

/**
 * What a request says about its client once the trusted proxies in front of this process are
 * taken into account: X-Forwarded-For and X-Forwarded-Proto are believed only from a trusted peer;
 * entries further left than the first untrusted hop were written by the client and prove nothing.
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
