import { randomBytes, randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Principal } from './contracts.ts';

/**
 * The headers the gateway vouches for. Set only after `sanitizeHeaders` removed every inbound
 * variant, so what the upstream reads here came from a verified token and nothing else.
 * Values are percent-encoded outside visible ASCII (UTF-8 bytes), and `%` itself, so a claim can
 * neither split a header nor make two different values read the same; list items also encode
 * the list separator, so a role named "user,admin" cannot read as two roles.
 */
export function identityHeaders(principal: Principal): Record<string, string> {
  const out: Record<string, string> = {
    'x-user-id': encodeValue(principal.subject, UNSAFE),
    'x-user-roles': principal.roles.map((r) => encodeValue(r, UNSAFE_IN_LIST)).join(','),
    'x-scopes': principal.scopes.map((s) => encodeValue(s, UNSAFE_IN_LIST)).join(' '),
  };
  if (principal.username !== undefined) out['x-user-name'] = encodeValue(principal.username, UNSAFE);
  if (principal.clientId) out['x-client-id'] = encodeValue(principal.clientId, UNSAFE);
  return out;
}

const UNSAFE = /[^\x20-\x24\x26-\x7e]/gu;
const UNSAFE_IN_LIST = /[^\x21-\x24\x26-\x2b\x2d-\x7e]/gu;

function encodeValue(value: string, unsafe: RegExp): string {
  return value.replace(unsafe, (ch) => {
    try {
      return encodeURIComponent(ch);
    } catch {
      // A lone surrogate is not a character: write U+FFFD, as a UTF-8 decoder would.
      return '%EF%BF%BD';
    }
  });
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * W3C trace context: keep a valid inbound `traceparent` from a trusted peer (same trace, our own
 * new span id), otherwise start a new trace.
 */
export function traceparentFor(inbound: string | undefined): string {
  const m = inbound ? TRACEPARENT.exec(inbound) : null;
  const traceId = m && !/^0+$/.test(m[1]!) && !/^0+$/.test(m[2]!) ? m[1]! : randomBytes(16).toString('hex');
  const flags = m ? m[3]! : '01';
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}

export function requestIdFor(inbound: string | undefined): string {
  return inbound && SAFE_REQUEST_ID.test(inbound) ? inbound : randomUUID();
}

export interface ForwardingContext {
  peerAddress: string;
  /** Inbound X-Forwarded-* values, present only from trusted peers. */
  inbound: { for?: string; proto?: string; host?: string };
  encrypted: boolean;
  host: string | undefined;
}

/** `X-Forwarded-For/Proto/Host`: appended to a trusted chain, or started fresh at this hop. */
export function forwardingHeaders(ctx: ForwardingContext): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    'x-forwarded-for': ctx.inbound.for ? `${ctx.inbound.for}, ${ctx.peerAddress}` : ctx.peerAddress,
    'x-forwarded-proto': ctx.inbound.proto ?? (ctx.encrypted ? 'https' : 'http'),
  };
  const host = ctx.inbound.host ?? ctx.host;
  if (host !== undefined) out['x-forwarded-host'] = host;
  return out;
}
