/**
 * The revocation record as it travels between the identity provider, the gateways and SDK services
 * (docs/contracts.md, "Tokens and revocation"): on the pub/sub channel, in the state keys and in the
 * identity provider's durable feed. Declared once here; every side imports it.
 *
 * - `jti`, `sid`: the token with that id, every token of that session.
 * - `client`, `sub`: every token of that client (`client_id`) or of that subject (`sub`) issued
 *   before `notBefore` (epoch seconds, compared with `iat`): a deleted or disabled principal loses
 *   what it holds, and tokens issued after a re-enable work again.
 */
export type RevocationKind = 'jti' | 'sid' | 'client' | 'sub';

export interface RevocationRecord {
  kind: RevocationKind;
  value: string;
  /** Epoch seconds: after this every token the record names has expired and it can be dropped. */
  expiresAt: number;
  /** `client` and `sub` only: tokens with `iat` before this (epoch seconds) are refused. */
  notBefore?: number;
}

/** Pub/sub channel of revocation messages (one `RevocationRecord` as JSON per message). */
export const REVOCATIONS_CHANNEL = 'gatehouse.revocations';

/**
 * The identity provider's durable revocation feed: `GET <idp origin>/_gatehouse/revocations?since=<cursor>`
 * answers `{ revocations: RevocationRecord[], cursor: string }`. Under `/_gatehouse/`, which a gateway
 * never routes upstream, so the feed is reachable on the identity provider's own listener only.
 */
export const REVOCATIONS_FEED_PATH = '/_gatehouse/revocations';

/** State key that marks a `jti` or `sid` as revoked (TTL until `expiresAt`). */
export function revokedKey(kind: RevocationKind, value: string): string {
  return `gatehouse:revoked:${kind}:${value}`;
}
