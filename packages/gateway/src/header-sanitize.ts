import type { OutgoingHttpHeaders } from 'node:http';

/**
 * Strip what a client must never be able to say to an upstream, before anything else reads the
 * headers:
 * - every inbound variant of the identity headers: any case, `_` or `.` in place of `-`,
 *   duplicated; the whole `x-user-*` and `x-gatehouse-*` namespaces are reserved to the gateway;
 * - hop-by-hop headers (RFC 9110 §7.6.1), `Expect`, and every header named in `Connection`;
 * - `X-Forwarded-*`, `Forwarded`, `X-Real-IP`, `X-Request-Id`, `traceparent`, `tracestate` unless
 *   the peer is a trusted proxy;
 * - `Host` (set again by the caller) and `Authorization` (forwarded only when the route says so).
 * Names are compared in a canonical form (lower case, `_` and `.` read as `-`) because some
 * upstream frameworks (CGI/WSGI, Rack, PHP) fold `X_User_ID` and `X-User-ID` into one variable.
 * Inbound trailers are never forwarded at all: the proxy does not copy `req.trailers`.
 */
export const IDENTITY_HEADERS = [
  'x-user-id',
  'x-user-name',
  'x-user-roles',
  'x-client-id',
  'x-scopes',
  'x-gatehouse-assertion',
] as const;

const IDENTITY = new Set<string>(IDENTITY_HEADERS);
const RESERVED_PREFIXES = ['x-user-', 'x-gatehouse-'];

const HOP_BY_HOP = new Set([
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
  // Node's server already answered `Expect: 100-continue` to the client; the upstream must not
  // be asked again.
  'expect',
]);

const FORWARDING = new Set(['forwarded', 'x-real-ip', 'x-request-id', 'traceparent', 'tracestate']);

export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-');
}

export function isIdentityHeader(name: string): boolean {
  const c = canonicalHeaderName(name);
  return IDENTITY.has(c) || RESERVED_PREFIXES.some((p) => c.startsWith(p));
}

export interface SanitizedHeaders {
  /** Headers safe to pass on, keyed by lower-case name; repeated headers as arrays. */
  headers: OutgoingHttpHeaders;
  /** Inbound forwarding headers, present only when the peer is trusted. */
  forwarded: { for?: string; proto?: string; host?: string; requestId?: string; traceparent?: string };
  /** True when a header that must appear once (Host, Authorization, Cookie) was repeated. */
  repeatedSingleton: string | undefined;
}

const SINGLETONS = new Set(['host', 'authorization', 'content-length']);

export function sanitizeHeaders(rawHeaders: readonly string[], peerTrusted: boolean): SanitizedHeaders {
  const named = new Set<string>();
  const seen = new Map<string, number>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = canonicalHeaderName(rawHeaders[i]!);
    seen.set(name, (seen.get(name) ?? 0) + 1);
    if (name === 'connection') {
      for (const token of rawHeaders[i + 1]!.split(',')) {
        const t = canonicalHeaderName(token.trim());
        if (t) named.add(t);
      }
    }
  }
  let repeatedSingleton: string | undefined;
  for (const s of SINGLETONS) if ((seen.get(s) ?? 0) > 1) repeatedSingleton ??= s;

  const headers: OutgoingHttpHeaders = {};
  const forwarded: SanitizedHeaders['forwarded'] = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const original = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const canonical = canonicalHeaderName(original);
    const lower = original.toLowerCase();
    if (IDENTITY.has(canonical) || RESERVED_PREFIXES.some((p) => canonical.startsWith(p))) continue;
    if (HOP_BY_HOP.has(canonical) || named.has(canonical)) continue;
    if (canonical === 'host') continue;
    if (canonical.startsWith('x-forwarded-') || FORWARDING.has(canonical)) {
      if (peerTrusted && lower === canonical) collectForwarded(forwarded, canonical, value);
      continue;
    }
    const prev = headers[lower];
    if (prev === undefined) headers[lower] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[lower] = [String(prev), value];
  }
  return { headers, forwarded, repeatedSingleton };
}

function collectForwarded(out: SanitizedHeaders['forwarded'], name: string, value: string): void {
  switch (name) {
    case 'x-forwarded-for':
      out.for = out.for ? `${out.for}, ${value}` : value;
      break;
    case 'x-forwarded-proto':
      out.proto ??= value;
      break;
    case 'x-forwarded-host':
      out.host ??= value;
      break;
    case 'x-request-id':
      out.requestId ??= value;
      break;
    case 'traceparent':
      out.traceparent ??= value;
      break;
  }
}
