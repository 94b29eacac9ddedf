/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1, plus the HTTP/1 upgrade
 * to HTTP/2's settings and the legacy Proxy-Connection): a proxy drops them in both directions,
 * along with every header the message's own `Connection` header names.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
