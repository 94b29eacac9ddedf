import type { OutgoingHttpHeaders } from 'node:http';
import { HOP_BY_HOP_HEADERS } from '@gatehouse/core';
import { IDENTITY_HEADER } from '@gatehouse/sdk';

/**
 * Strip what a client must never be able to say to an upstream, before anything else reads the
 * headers:
 * - every inbound variant of the identity headers: any case, `_` or `.` in place of `-`,
 *   duplicated; the whole `x-user-*` and `x-gatehouse-*` namespaces are reserved to the gateway;
 * - hop-by-hop headers (RFC 9110 §7.6.1), `Expect`, and every header named in `Connection`;
 * - `X-Forwarded-*`, `Forwarded`, `X-Real-IP`, `X-Request-Id`, `traceparent`, `tracestate` unless
 *   the peer is a trusted proxy;
 * - `Host` (set again by the caller).
 * `Authorization` and `Cookie` are set aside in `credentials` rather than passed in `headers`: the
 * caller decides, once the route is known, whether and in what form they go upstream.
 * Names are compared in a canonical form (lower case, `_` and `.` read as `-`) because some
 * upstream frameworks (CGI/WSGI, Rack, PHP) fold `X_User_ID` and `X-User-ID` into one variable.
 * Inbound trailers are never forwarded at all: the proxy does not copy `req.trailers`.
 */
export const IDENTITY_HEADERS: readonly string[] = Object.values(IDENTITY_HEADER);

const IDENTITY = new Set<string>(IDENTITY_HEADERS);
const RESERVED_PREFIXES = ['x-user-', 'x-gatehouse-'];

const HOP_BY_HOP = new Set([
  ...HOP_BY_HOP_HEADERS,
  // Node's server already answered `Expect: 100-continue` to the client; the upstream must not
  // be asked again.
  'expect',
]);

const FORWARDING = new Set(['forwarded', 'x-real-ip', 'x-request-id', 'traceparent', 'tracestate']);

export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-');
}

export interface SanitizedHeaders {
  /** Headers safe to pass on, keyed by lower-case name; repeated headers as arrays. */
  headers: OutgoingHttpHeaders;
  /**
   * `Authorization` and `Cookie`, as `headers` would have held them. Kept apart so that a route
   * that must not see them never has them deleted from `headers` (a `delete` turns V8's object into
   * a slow dictionary for the rest of the request) and a route that may gets them added back.
   */
  credentials: { authorization?: string | string[]; cookie?: string | string[] };
  /** Inbound forwarding headers, present only when the peer is trusted. */
  forwarded: { for?: string; proto?: string; host?: string; requestId?: string; traceparent?: string };
  /** True when a header that must appear once (Host, Authorization, Cookie) was repeated. */
  repeatedSingleton: string | undefined;
}

/** What sanitizeHeaders does with a header, decided by its name alone. */
const ACTION = { drop: 0, forwarding: 1, pass: 2 } as const;

interface NameInfo {
  canonical: string;
  lower: string;
  /** drop: identity, reserved, hop-by-hop or Host; forwarding: read from trusted peers only. */
  action: (typeof ACTION)[keyof typeof ACTION];
  /** Index in SINGLETONS, or -1. */
  singleton: number;
  /** `authorization` or `cookie`: goes to `credentials`, not `headers`. */
  credential: 'authorization' | 'cookie' | undefined;
}

const SINGLETONS = ['host', 'authorization', 'content-length'] as const;

// Clients send the same few header names on every request: the classification of a name (two
// lower-casings, a regex and five set lookups) is kept per spelling. Bounded: a client inventing
// names only empties the map, which then costs what no map would.
const NAME_CACHE_MAX = 1024;
const nameCache = new Map<string, NameInfo>();

function nameInfo(original: string): NameInfo {
  let info = nameCache.get(original);
  if (info !== undefined) return info;
  const canonical = canonicalHeaderName(original);
  const drop =
    IDENTITY.has(canonical) ||
    RESERVED_PREFIXES.some((p) => canonical.startsWith(p)) ||
    HOP_BY_HOP.has(canonical) ||
    canonical === 'host';
  info = {
    canonical,
    lower: original.toLowerCase(),
    action: drop
      ? ACTION.drop
      : canonical.startsWith('x-forwarded-') || FORWARDING.has(canonical)
        ? ACTION.forwarding
        : ACTION.pass,
    singleton: SINGLETONS.indexOf(canonical as (typeof SINGLETONS)[number]),
    credential: canonical === 'authorization' || canonical === 'cookie' ? canonical : undefined,
  };
  if (nameCache.size >= NAME_CACHE_MAX) nameCache.clear();
  nameCache.set(original, info);
  return info;
}

export function sanitizeHeaders(rawHeaders: readonly string[], peerTrusted: boolean): SanitizedHeaders {
  // Headers named in `Connection`; built only when there is one (rare from HTTP/1.1 clients).
  let named: Set<string> | undefined;
  let hosts = 0;
  let authorizations = 0;
  let contentLengths = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const info = nameInfo(rawHeaders[i]!);
    if (info.singleton === 0) hosts++;
    else if (info.singleton === 1) authorizations++;
    else if (info.singleton === 2) contentLengths++;
    if (info.canonical === 'connection') {
      named ??= new Set();
      for (const token of rawHeaders[i + 1]!.split(',')) {
        const t = canonicalHeaderName(token.trim());
        if (t) named.add(t);
      }
    }
  }
  const repeatedSingleton =
    hosts > 1
      ? 'host'
      : authorizations > 1
        ? 'authorization'
        : contentLengths > 1
          ? 'content-length'
          : undefined;

  const headers: OutgoingHttpHeaders = {};
  const credentials: SanitizedHeaders['credentials'] = {};
  const forwarded: SanitizedHeaders['forwarded'] = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const info = nameInfo(rawHeaders[i]!);
    if (info.action === ACTION.drop || named?.has(info.canonical)) continue;
    const value = rawHeaders[i + 1]!;
    if (info.action === ACTION.forwarding) {
      if (peerTrusted && info.lower === info.canonical) collectForwarded(forwarded, info.canonical, value);
      continue;
    }
    if (info.credential !== undefined) {
      const prev = credentials[info.credential];
      if (prev === undefined) credentials[info.credential] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else credentials[info.credential] = [prev, value];
      continue;
    }
    const lower = info.lower;
    const prev = headers[lower];
    if (prev === undefined) headers[lower] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[lower] = [String(prev), value];
  }
  return { headers, credentials, forwarded, repeatedSingleton };
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
