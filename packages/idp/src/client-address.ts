import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/**
 * The address a request came from, and whether it came over HTTPS, believing X-Forwarded-For and
 * X-Forwarded-Proto only from a trusted proxy (the gateway). The rightmost X-Forwarded-For entry
 * that is not itself a trusted proxy is the client: entries further left were written by the client
 * and prove nothing.
 */
export function clientAddress(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (!trustedProxies.has(peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const chain = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i]!.slice(0, 64);
    if (!trustedProxies.has(hop)) return hop;
  }
  return peer;
}

export function requestIsHttps(req: IncomingMessage, trustedProxies: ReadonlySet<string>): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  const peer = req.socket.remoteAddress ?? '';
  const proto = req.headers['x-forwarded-proto'];
  return trustedProxies.has(peer) && typeof proto === 'string' && proto.split(',')[0]!.trim() === 'https';
}

/** The origin the request was addressed to (scheme from requestIsHttps, host from Host). */
export function requestOrigin(req: IncomingMessage, trustedProxies: ReadonlySet<string>): string | undefined {
  const host = req.headers.host;
  if (!host || !/^[A-Za-z0-9.\-[\]:]+$/.test(host)) return undefined;
  return `${requestIsHttps(req, trustedProxies) ? 'https' : 'http'}://${host.toLowerCase()}`;
}
