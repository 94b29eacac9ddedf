import type { Principal } from './principal.ts';

/**
 * One revocation (docs/contracts.md, "Tokens and revocation"):
 * - `jti`, `sid`: the token with that id, every token of that session;
 * - `client`, `sub`: every token of that `client_id` or `sub` issued (`iat`) before `notBefore`, so a
 *   deleted or disabled client or user loses what it holds and a re-enabled one can get new tokens.
 */
export interface Revocation {
  kind: 'jti' | 'sid' | 'client' | 'sub';
  value: string;
  /** Epoch seconds: after this the revoked token has expired anyway and the entry can go. */
  expiresAt: number;
  /** `client` and `sub` only, epoch seconds: tokens with an earlier `iat` are refused. */
  notBefore?: number;
}

const MAX_VALUE_LENGTH = 512;

/** A revocation from outside (a pub/sub message, a feed answer), or undefined when it is not exactly one. */
export function parseRevocation(input: unknown): Revocation | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const { kind, value, expiresAt, notBefore } = input as Record<string, unknown>;
  if (kind !== 'jti' && kind !== 'sid' && kind !== 'client' && kind !== 'sub') return undefined;
  if (typeof value !== 'string' || value === '' || value.length > MAX_VALUE_LENGTH) return undefined;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return undefined;
  if (kind === 'client' || kind === 'sub') {
    if (typeof notBefore !== 'number' || !Number.isFinite(notBefore)) return undefined;
    return { kind, value, expiresAt, notBefore };
  }
  if (notBefore !== undefined) return undefined;
  return { kind, value, expiresAt };
}

/** `verifier.revoke`'s argument check: a caller bug, so a TypeError. */
export function checkRevocation(r: Revocation): void {
  if (parseRevocation(r) === undefined) {
    throw new TypeError(
      'revoke expects { kind: "jti" | "sid", value: string, expiresAt: number } or ' +
        '{ kind: "client" | "sub", value: string, expiresAt: number, notBefore: number }',
    );
  }
}

/** The `iat` a client or subject revocation compares with; a token without one counts as issued at 0. */
function issuedAt(p: Principal): number {
  const iat = p.claims.iat;
  return typeof iat === 'number' && Number.isFinite(iat) ? iat : 0;
}

/** Whether `r` names the token of `p` (for evicting cached tokens). */
export function revocationNames(r: Revocation, p: Principal): boolean {
  switch (r.kind) {
    case 'jti':
      return p.tokenId === r.value;
    case 'sid':
      return p.sessionId === r.value;
    case 'client':
      return p.clientId === r.value && issuedAt(p) < (r.notBefore ?? 0);
    case 'sub':
      return p.subject === r.value && issuedAt(p) < (r.notBefore ?? 0);
  }
}

const SWEEP_EVERY = 256;

interface Entry {
  /** Epoch seconds after which the entry can go. */
  until: number;
  /** For client and sub entries: tokens issued before this are revoked. */
  notBefore: number;
}

/** Revoked token ids, session ids, clients and subjects, each remembered until its tokens would have expired. */
export class RevocationList {
  readonly #jti = new Map<string, Entry>();
  readonly #sid = new Map<string, Entry>();
  readonly #client = new Map<string, Entry>();
  readonly #sub = new Map<string, Entry>();
  #added = 0;

  add(r: Revocation, nowSec: number): void {
    if (r.expiresAt <= nowSec) return;
    const map =
      r.kind === 'jti'
        ? this.#jti
        : r.kind === 'sid'
          ? this.#sid
          : r.kind === 'client'
            ? this.#client
            : this.#sub;
    const old = map.get(r.value);
    map.set(r.value, {
      until: Math.max(old?.until ?? 0, r.expiresAt),
      notBefore: Math.max(old?.notBefore ?? 0, r.notBefore ?? 0),
    });
    if (++this.#added % SWEEP_EVERY === 0) this.#sweep(nowSec);
  }

  /** At most four Map lookups: cheap enough for every cache hit. */
  isRevoked(p: Principal, nowSec: number): boolean {
    const byJti = this.#jti.get(p.tokenId);
    if (byJti !== undefined && byJti.until > nowSec) return true;
    if (p.sessionId !== undefined) {
      const bySid = this.#sid.get(p.sessionId);
      if (bySid !== undefined && bySid.until > nowSec) return true;
    }
    if (this.#client.size > 0) {
      const byClient = this.#client.get(p.clientId);
      if (byClient !== undefined && byClient.until > nowSec && issuedAt(p) < byClient.notBefore) return true;
    }
    if (this.#sub.size > 0) {
      const bySub = this.#sub.get(p.subject);
      if (bySub !== undefined && bySub.until > nowSec && issuedAt(p) < bySub.notBefore) return true;
    }
    return false;
  }

  #sweep(nowSec: number): void {
    for (const map of [this.#jti, this.#sid, this.#client, this.#sub]) {
      for (const [value, entry] of map) if (entry.until <= nowSec) map.delete(value);
    }
  }
}
