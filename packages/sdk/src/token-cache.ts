import type { Principal } from './principal.ts';

/**
 * Verified tokens, keyed by the token string, each kept until the token's `exp`, at most `maxEntries`
 * (least recently used dropped first). A Map keeps insertion order, which is all an LRU needs.
 */
export class TokenCache {
  readonly #entries = new Map<string, Principal>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get(token: string, nowSec: number): Principal | undefined {
    const principal = this.#entries.get(token);
    if (principal === undefined) return undefined;
    this.#entries.delete(token);
    if (principal.expiresAt <= nowSec) return undefined;
    this.#entries.set(token, principal);
    return principal;
  }

  set(token: string, principal: Principal, nowSec: number): void {
    if (this.#maxEntries <= 0 || principal.expiresAt <= nowSec) return;
    this.#entries.delete(token);
    this.#entries.set(token, principal);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Drop every entry whose principal matches; returns how many were dropped. */
  evict(matches: (p: Principal) => boolean): number {
    let dropped = 0;
    for (const [token, principal] of this.#entries) {
      if (matches(principal)) {
        this.#entries.delete(token);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.#entries.size;
  }
}
