import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { LimitKey, Principal } from '../contracts.ts';

/**
 * The key a request is counted under for rate and in-flight limits (the limiter scopes it by route).
 * - `ip`: the client address (X-Forwarded-For read only from trusted proxies, @gatehouse/core trusted-proxies.ts);
 * - `user` / `client`: the token's `sub` / `client_id`;
 * - `{ header }`: that header's value — the client chooses it, so use it only for a header a
 *   trusted hop sets.
 * A request without what is asked for (anonymous, header missing) falls back to its address, so
 * leaving the token or header out never escapes the limit. Values over 128 characters are hashed
 * so a hostile value cannot bloat the state store.
 */
export function limitKeyFor(
  key: LimitKey,
  ctx: { clientAddress: string; principal: Principal | undefined; headers: IncomingHttpHeaders },
): string {
  if (key === 'user' && ctx.principal) return `sub:${bounded(ctx.principal.subject)}`;
  if (key === 'client' && ctx.principal?.clientId) return `client:${bounded(ctx.principal.clientId)}`;
  if (typeof key === 'object') {
    const name = key.header.toLowerCase();
    const raw = ctx.headers[name];
    const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (value) return `h:${name}:${bounded(value)}`;
  }
  return `ip:${ctx.clientAddress}`;
}

function bounded(value: string): string {
  return value.length <= 128 ? value : `sha256-${createHash('sha256').update(value).digest('base64url')}`;
}
