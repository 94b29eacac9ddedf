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

interface Cutoff {
  /** Epoch seconds after which the entry can go. */
  until: number;
  /** Tokens issued (`iat`) before this are revoked. */
  notBefore: number;
}

/** Revoked token ids, session ids, clients and subjects, each remembered until its tokens would have expired. */
export class RevocationList {
  /** Token and session ids, each with the epoch second after which it can go. */
  readonly #jti = new Map<string, number>();
  readonly #sid = new Map<string, number>();
  readonly #client = new Map<string, Cutoff>();
  readonly #sub = new Map<string, Cutoff>();
  /** Client and subject entries held: rare (a deleted client, a disabled user), so one test skips both. */
  #cutoffs = 0;
  #added = 0;

  add(r: Revocation, nowSec: number): void {
    if (r.expiresAt <= nowSec) return;
    if (r.kind === 'jti' || r.kind === 'sid') {
      const map = r.kind === 'jti' ? this.#jti : this.#sid;
      map.set(r.value, Math.max(map.get(r.value) ?? 0, r.expiresAt));
    } else {
      const map = r.kind === 'client' ? this.#client : this.#sub;
      const old = map.get(r.value);
      map.set(r.value, {
        until: Math.max(old?.until ?? 0, r.expiresAt),
        notBefore: Math.max(old?.notBefore ?? 0, r.notBefore ?? 0),
      });
      this.#cutoffs = this.#client.size + this.#sub.size;
    }
    if (++this.#added % SWEEP_EVERY === 0) this.#sweep(nowSec);
  }

  /** At most four Map lookups, usually one or two: cheap enough for every cache hit. */
  isRevoked(p: Principal, nowSec: number): boolean {
    const byJti = this.#jti.get(p.tokenId);
    if (byJti !== undefined && byJti > nowSec) return true;
    if (p.sessionId !== undefined) {
      const bySid = this.#sid.get(p.sessionId);
      if (bySid !== undefined && bySid > nowSec) return true;
    }
    return this.#cutoffs > 0 && this.#issuedBeforeCutoff(p, nowSec);
  }

  #issuedBeforeCutoff(p: Principal, nowSec: number): boolean {
    for (const cutoff of [this.#client.get(p.clientId), this.#sub.get(p.subject)]) {
      if (cutoff !== undefined && cutoff.until > nowSec && issuedAt(p) < cutoff.notBefore) return true;
    }
    return false;
  }

  #sweep(nowSec: number): void {
    for (const map of [this.#jti, this.#sid]) {
      for (const [value, until] of map) if (until <= nowSec) map.delete(value);
    }
    for (const map of [this.#client, this.#sub]) {
      for (const [value, cutoff] of map) if (cutoff.until <= nowSec) map.delete(value);
    }
    this.#cutoffs = this.#client.size + this.#sub.size;
  }
}
