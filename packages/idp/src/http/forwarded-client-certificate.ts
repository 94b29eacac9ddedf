import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { FORWARDED_CLIENT_CERT_HEADER, type TrustedProxies } from '@gatehouse/core';

/**
 * The client certificate of a request that reached the identity provider through the gateway, for
 * RFC 8705 certificate-bound tokens:
 * - only from a trusted proxy: anyone else could name any certificate;
 * - the gateway sends it only for a certificate that chained to its client CA (gateway.tls);
 * - a malformed value counts as no certificate, so a bound token is simply not issued.
 */
export function forwardedClientCertificate(
  req: IncomingMessage,
  proxies: TrustedProxies,
): X509Certificate | undefined {
  const raw = req.headers[FORWARDED_CLIENT_CERT_HEADER];
  if (typeof raw !== 'string' || raw.length > 16384) return undefined;
  if (!proxies.isTrusted(req.socket.remoteAddress)) return undefined;
  try {
    return new X509Certificate(decodeURIComponent(raw));
  } catch {
    return undefined;
  }
}
