import { randomBytes, randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { encodeIdentityValue, encodeRolesHeader, encodeScopesHeader } from '@gatehouse/sdk';
import type { Principal } from './contracts.ts';

/**
 * The headers the gateway vouches for. Set only after `sanitizeHeaders` removed every inbound
 * variant, so what the upstream reads here came from a verified token and nothing else.
 * Values are encoded as `@gatehouse/sdk`'s identity-header-encoding.ts says, so services decode
 * them with the same rules.
 */
export function identityHeaders(principal: Principal): Record<string, string> {
  const out: Record<string, string> = {
    'x-user-id': encodeIdentityValue(principal.subject),
    'x-user-roles': encodeRolesHeader(principal.roles),
    'x-scopes': encodeScopesHeader(principal.scopes),
  };
  if (principal.username !== undefined) out['x-user-name'] = encodeIdentityValue(principal.username);
  if (principal.clientId) out['x-client-id'] = encodeIdentityValue(principal.clientId);
  return out;
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
