import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { LimitKey, Principal } from './contracts.ts';
import type { TrustedProxies } from './trusted-proxy.ts';

/**
 * The key a request is counted under for rate and in-flight limits.
 * - `ip`: the client address; `X-Forwarded-For` is read only when the peer is a trusted proxy,
 *   and only as many hops from the right as the configured depth (trusted-proxy.ts).
 * - `user` / `client`: the token's `sub` / `client_id`; anonymous requests fall back to the address,
 *   so dropping the token never escapes the limit.
 * - `{ header }`: that header's value (e.g. an API key set by an edge proxy). The client chooses
 *   it, so only use it for headers a trusted hop sets; a missing header falls back to the address.
 * Values longer than 128 characters are hashed so a hostile header cannot bloat the state store.
 */
export function clientAddressOf(req: IncomingMessage, proxies: TrustedProxies): string {
  const xff = req.headers['x-forwarded-for'];
  return proxies.clientAddress(req.socket.remoteAddress, Array.isArray(xff) ? xff.join(',') : xff);
}

export function limitKeyOf(
  req: Pick<IncomingMessage, 'headers'>,
  key: LimitKey,
  principal: Principal | undefined,
  clientAddress: string,
): string {
  if (key === 'ip') return `ip:${clientAddress}`;
  if (key === 'user') return principal ? `sub:${bounded(principal.subject)}` : `ip:${clientAddress}`;
  if (key === 'client') {
    return principal?.clientId ? `client:${bounded(principal.clientId)}` : `ip:${clientAddress}`;
  }
  const raw = req.headers[key.header.toLowerCase()];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  return value ? `h:${key.header.toLowerCase()}:${bounded(value)}` : `ip:${clientAddress}`;
}

function bounded(value: string): string {
  return value.length <= 128 ? value : `sha256-${createHash('sha256').update(value).digest('base64url')}`;
}
