import type { Principal } from './principal.ts';

export interface Revocation {
  kind: 'jti' | 'sid';
  value: string;
  /** Epoch seconds: after this the revoked token has expired anyway and the entry can go. */
  expiresAt: number;
}

const SWEEP_EVERY = 256;

/** Revoked token ids and session ids, each remembered until the token would have expired. */
export class RevocationList {
  readonly #jti = new Map<string, number>();
  readonly #sid = new Map<string, number>();
  #added = 0;

  add(r: Revocation, nowSec: number): void {
    if (r.expiresAt <= nowSec) return;
    const map = r.kind === 'jti' ? this.#jti : this.#sid;
    map.set(r.value, Math.max(map.get(r.value) ?? 0, r.expiresAt));
    if (++this.#added % SWEEP_EVERY === 0) this.#sweep(nowSec);
  }

  /** Two Map lookups: cheap enough for every cache hit. */
  isRevoked(p: Principal, nowSec: number): boolean {
    const byJti = this.#jti.get(p.tokenId);
    if (byJti !== undefined && byJti > nowSec) return true;
    if (p.sessionId === undefined) return false;
    const bySid = this.#sid.get(p.sessionId);
    return bySid !== undefined && bySid > nowSec;
  }

  #sweep(nowSec: number): void {
    for (const map of [this.#jti, this.#sid]) {
      for (const [value, until] of map) if (until <= nowSec) map.delete(value);
    }
  }
}
