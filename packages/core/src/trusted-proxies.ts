import { BlockList, isIP } from 'node:net';
import { coreErrors } from './errors.ts';

/**
 * Which peers may speak for someone else (X-Forwarded-*, Forwarded, traceparent, X-Request-Id),
 * and who the client is behind them. One implementation for the gateway (its `trustedProxies` and
 * `trustedProxyDepth`) and the identity provider (the gateway in front of it), so both name the
 * same client for the same request.
 */
/**
 * The gateway passes a TLS client certificate it verified (chained to its client CA) to a route's
 * upstream in this header, URL-encoded PEM, for RFC 8705 certificate-bound tokens at the identity
 * provider; an upstream believes it only from a trusted proxy. Inbound copies are always stripped
 * (the `x-gatehouse-` namespace belongs to the gateway).
 */
export const FORWARDED_CLIENT_CERT_HEADER = 'x-gatehouse-client-cert';

export interface TrustedProxies {
  isTrusted(address: string | undefined): boolean;
  /**
   * The client address: walk `X-Forwarded-For` from the right, skipping at most `depth` trusted
   * hops; the first address that is not a trusted proxy (or the last one allowed) is the client.
   * The header is read only when the peer itself is trusted.
   */
  clientAddress(peer: string | undefined, forwardedFor: string | undefined): string;
}

export function createTrustedProxies(cidrs: readonly string[], depth: number): TrustedProxies {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [addr, bits] = cidr.split('/') as [string, string | undefined];
    const family = isIP(addr);
    if (family === 0)
      throw coreErrors.create('GH_CONFIG_INVALID', `trustedProxies: ${cidr} is not an IP address or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }

  const check = (address: string): boolean => {
    const plain = unmapIPv4(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  };
  // Asked for every request's peer: answers are kept per address (a few load balancers, or a
  // bounded churn of clients), since parsing an address and walking the BlockList costs more.
  const answers = new Map<string, boolean>();
  const isTrusted =
    cidrs.length === 0
      ? () => false
      : (address: string | undefined): boolean => {
          if (!address) return false;
          let trusted = answers.get(address);
          if (trusted === undefined) {
            trusted = check(address);
            if (answers.size >= 1024) answers.clear();
            answers.set(address, trusted);
          }
          return trusted;
        };

  return {
    isTrusted,
    clientAddress(peer, forwardedFor) {
      const peerAddr = unmapIPv4(peer ?? '');
      if (!forwardedFor || !isTrusted(peerAddr)) return peerAddr;
      const hops = [
        ...forwardedFor
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        peerAddr,
      ];
      let i = hops.length - 1;
      let skipped = 0;
      while (i > 0 && skipped < depth && isTrusted(hops[i])) {
        i--;
        skipped++;
      }
      const client = unmapIPv4(hops[i]!);
      // A garbage entry is not an address: fall back to the nearest address we know.
      return isIP(client) === 0 ? unmapIPv4(hops[i + 1] ?? peerAddr) : client;
    },
  };
}

/** `::ffff:127.0.0.1` (IPv4 on a dual-stack socket) → `127.0.0.1`. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
