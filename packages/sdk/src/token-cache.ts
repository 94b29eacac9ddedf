import type { Principal } from './principal.ts';

/** Characters of the token's end that find its entry: the signature's, random for every token. */
const LOOKUP_KEY_LENGTH = 32;

interface Entry {
  token: string;
  principal: Principal;
}

/**
 * Verified tokens, each kept until the token's `exp`, at most `maxEntries` (least recently used
 * dropped first). A Map keeps insertion order, which is all an LRU needs.
 *
 * An entry is found by the token's last 32 characters (part of its signature) and matches only when
 * the whole token is equal to the stored one: hashing a ~700-character token on every request cost
 * more than the rest of a cache hit, and comparing two strings does not hash them. The short key
 * only finds the entry, it proves nothing: a token that ends like a cached one but differs anywhere
 * else is a miss, and is verified from scratch (and never cached unless its signature is valid).
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get(token: string, nowSec: number): Principal | undefined {
    const key = lookupKey(token);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.token !== token) return undefined;
    this.#entries.delete(key);
    if (entry.principal.expiresAt <= nowSec) return undefined;
    this.#entries.set(key, entry);
    return entry.principal;
  }

  set(token: string, principal: Principal, nowSec: number): void {
    if (this.#maxEntries <= 0 || principal.expiresAt <= nowSec) return;
    const key = lookupKey(token);
    // Another valid token ending in the same 32 characters (not to be expected of signatures)
    // would only take the slot over: lookups still compare whole tokens.
    this.#entries.delete(key);
    this.#entries.set(key, { token, principal });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
  }

  /** Drop every entry whose principal matches; returns how many were dropped. */
  evict(matches: (p: Principal) => boolean): number {
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (matches(entry.principal)) {
        this.#entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.#entries.size;
  }
}

function lookupKey(token: string): string {
  return token.length > LOOKUP_KEY_LENGTH ? token.slice(-LOOKUP_KEY_LENGTH) : token;
}
