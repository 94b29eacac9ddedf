import { createTrustedProxies, type TrustedProxies } from '@gatehouse/core';

/**
 * The identity provider's trusted proxies (`idp.accounts.trustedProxies`: the gateway in front of
 * it). They may speak for a client through any number of hops, each of them trusted: the client is
 * the rightmost X-Forwarded-For entry that is not itself a trusted proxy, as the gateway reads it.
 * Reading the request against them is core's (`clientAddress`, `requestIsHttps`, `requestOrigin`).
 */
export function idpTrustedProxies(addresses: readonly string[]): TrustedProxies {
  return createTrustedProxies(addresses, Number.MAX_SAFE_INTEGER);
}
