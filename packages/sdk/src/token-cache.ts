import type { Principal } from './principal.ts';

/** Characters of the token's end that find its entry: the signature's, random for every token. */
const LOOKUP_KEY_LENGTH = 32;

interface Entry {
  /** The token's canonical text (ecdsa-canonical.ts). */
  token: string;
  /**
   * Its ECDSA twin's text, once that spelling was presented and read strictly; undefined from the
   * start rather than absent, so that every entry has the same shape for the lookups of a hit.
   */
  twin: string | undefined;
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
 *
 * One token is one entry. An ECDSA token's twin spelling, once presented, becomes a second key of
 * the same entry (`addTwin`), so both spellings are answered as cheaply and dropped together.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  /** Tokens held: a token whose twin was presented has two keys in the Map and counts once. */
  #count = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get(token: string, nowSec: number): Principal | undefined {
    const key = lookupKey(token);
    const entry = this.#entries.get(key);
    if (entry === undefined || (entry.token !== token && entry.twin !== token)) return undefined;
    if (entry.principal.expiresAt <= nowSec) {
      this.#drop(entry);
      return undefined;
    }
    // The most recently used token goes to the Map's end, with both its keys when it has two.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (entry.twin !== undefined) {
      const tokenKey = lookupKey(entry.token);
      const other = key === tokenKey ? lookupKey(entry.twin) : tokenKey;
      this.#entries.delete(other);
      this.#entries.set(other, entry);
    }
    return entry.principal;
  }

  set(token: string, principal: Principal, nowSec: number): void {
    if (this.#maxEntries <= 0 || principal.expiresAt <= nowSec) return;
    const key = lookupKey(token);
    // Another valid token ending in the same 32 characters (not to be expected of signatures)
    // would only take the slot over: lookups still compare whole tokens.
    const previous = this.#entries.get(key);
    if (previous !== undefined) this.#drop(previous);
    this.#entries.set(key, { token, twin: undefined, principal });
    this.#count++;
    this.#trim();
  }

  /**
   * `twin` (the other ECDSA spelling of the cached `token`, already read strictly and found to be
   * exactly that) now finds the same entry. Nothing happens when `token` is not cached.
   */
  addTwin(token: string, twin: string): void {
    const entry = this.#entries.get(lookupKey(token));
    if (entry === undefined || entry.token !== token || entry.twin !== undefined) return;
    const twinKey = lookupKey(twin);
    const occupant = this.#entries.get(twinKey);
    if (occupant !== undefined) this.#drop(occupant);
    // The occupant may have been this very entry, under its own key: only a cached entry takes a twin.
    if (this.#entries.get(lookupKey(token)) !== entry) return;
    entry.twin = twin;
    this.#entries.set(twinKey, entry);
  }

  /** Drop every entry whose principal matches; returns how many were dropped. */
  evict(matches: (p: Principal) => boolean): number {
    let dropped = 0;
    for (const entry of new Set(this.#entries.values())) {
      if (matches(entry.principal)) {
        this.#drop(entry);
        dropped++;
      }
    }
    return dropped;
  }

  /** Tokens held (either spelling of one ECDSA token counts once). */
  get size(): number {
    return this.#count;
  }

  #drop(entry: Entry): void {
    const key = lookupKey(entry.token);
    if (this.#entries.get(key) !== entry) return;
    this.#entries.delete(key);
    if (entry.twin !== undefined && this.#entries.get(lookupKey(entry.twin)) === entry) {
      this.#entries.delete(lookupKey(entry.twin));
    }
    this.#count--;
  }

  #trim(): void {
    while (this.#count > this.#maxEntries) {
      const oldest = this.#entries.values().next();
      if (oldest.done) break;
      this.#drop(oldest.value);
    }
  }
}

function lookupKey(token: string): string {
  return token.length > LOOKUP_KEY_LENGTH ? token.slice(-LOOKUP_KEY_LENGTH) : token;
}
