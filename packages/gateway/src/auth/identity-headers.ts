import { randomFillSync, randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { encodeIdentityValue, encodeRolesHeader, encodeScopesHeader, IDENTITY_HEADER } from '@gatehouse/sdk';
import type { Principal } from '../contracts.ts';

/**
 * The headers the gateway vouches for. Set only after `sanitizeHeaders` removed every inbound
 * variant, so what the upstream reads here came from a verified token and nothing else.
 * Values are encoded as `@gatehouse/sdk`'s identity-header-encoding.ts says, so services decode
 * them with the same rules.
 */
export function identityHeaders(principal: Principal): Record<string, string> {
  const out: Record<string, string> = {
    [IDENTITY_HEADER.userId]: encodeIdentityValue(principal.subject),
    [IDENTITY_HEADER.userRoles]: encodeRolesHeader(principal.roles),
    [IDENTITY_HEADER.scopes]: encodeScopesHeader(principal.scopes),
  };
  if (principal.username !== undefined)
    out[IDENTITY_HEADER.userName] = encodeIdentityValue(principal.username);
  if (principal.clientId) out[IDENTITY_HEADER.clientId] = encodeIdentityValue(principal.clientId);
  return out;
}

// The verifier hands back the same Principal object for every use of a cached token, and nothing
// changes a principal once it is verified: its headers are encoded once per principal, not once per
// request. Weak keys: an entry goes when the verifier's cache drops the principal.
const encodedIdentity = new WeakMap<Principal, Record<string, string>>();

/** Add `identityHeaders(principal)` to `headers`. */
export function setIdentityHeaders(headers: OutgoingHttpHeaders, principal: Principal): void {
  let encoded = encodedIdentity.get(principal);
  if (encoded === undefined) {
    encoded = identityHeaders(principal);
    encodedIdentity.set(principal, encoded);
  }
  for (const name in encoded) headers[name] = encoded[name];
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

// Random bytes for trace and span ids, filled 8 KiB at a time: each `randomFillSync` call goes
// through OpenSSL's RNG, which showed in the gateway's profile when made once per request; one call
// per ~340 requests does not. Node's own `randomUUID` batches the same way. Bytes are used
// once and never reused.
const RANDOM_POOL = Buffer.allocUnsafe(8192);
let randomOffset = RANDOM_POOL.length;

/** `bytes` fresh random bytes as lower-case hex. */
function randomHex(bytes: number): string {
  if (randomOffset + bytes > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    randomOffset = 0;
  }
  const hex = RANDOM_POOL.toString('hex', randomOffset, randomOffset + bytes);
  randomOffset += bytes;
  return hex;
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * W3C trace context: keep a valid inbound `traceparent` from a trusted peer (same trace, our own
 * new span id), otherwise start a new trace.
 */
export function traceparentFor(inbound: string | undefined): string {
  const m = inbound ? TRACEPARENT.exec(inbound) : null;
  if (m && m[1] !== ZERO_TRACE_ID && m[2] !== ZERO_SPAN_ID) return `00-${m[1]}-${randomHex(8)}-${m[3]}`;
  // A new trace: its trace id and span id from one run of fresh bytes.
  const ids = randomHex(24);
  return `00-${ids.slice(0, 32)}-${ids.slice(32)}-${m ? m[3]! : '01'}`;
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

/** `X-Forwarded-For/Proto/Host` into `headers`: appended to a trusted chain, or started fresh at this hop. */
export function setForwardingHeaders(headers: OutgoingHttpHeaders, ctx: ForwardingContext): void {
  headers['x-forwarded-for'] = ctx.inbound.for ? `${ctx.inbound.for}, ${ctx.peerAddress}` : ctx.peerAddress;
  headers['x-forwarded-proto'] = ctx.inbound.proto ?? (ctx.encrypted ? 'https' : 'http');
  const host = ctx.inbound.host ?? ctx.host;
  if (host !== undefined) headers['x-forwarded-host'] = host;
}
