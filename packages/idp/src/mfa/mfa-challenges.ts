import { createHash, randomBytes } from 'node:crypto';
import type { SharedState } from '@gatehouse/core';

/**
 * The sign-ins between their password step and their second-factor step, in the shared state (any
 * replica may get the next step), for `challengeTtlSeconds`.
 *
 * - The session API hands out an `mfaToken` (256 random bits); the state keeps only its SHA-256, so
 *   a reader of the state cannot finish anyone's sign-in.
 * - The hosted pages key a challenge by the interaction's uid: oidc-provider binds the interaction to
 *   the browser with its signed cookie, and interactions.ts checks that binding on every request.
 */
export interface MfaChallenge {
  accountId: string;
  /** code: the account has a second factor; enrol: the role policy wants one set up first;
   * done: passed, the page shows the recovery codes and waits for Continue. */
  step: 'code' | 'enrol' | 'done';
  /** Authentication methods (RFC 8176) once passed. */
  amr?: string[] | undefined;
}

export interface MfaChallenges {
  issue(challenge: MfaChallenge): Promise<string>;
  find(token: string): Promise<MfaChallenge | undefined>;
  consume(token: string): Promise<void>;
  ofInteraction(uid: string): Promise<MfaChallenge | undefined>;
  setForInteraction(uid: string, challenge: MfaChallenge): Promise<void>;
  endForInteraction(uid: string): Promise<void>;
}

const tokenShape = /^[A-Za-z0-9_-]{43}$/;
const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

export function createMfaChallenges(state: SharedState, ttlSeconds: number): MfaChallenges {
  const tokenKey = (token: string) => `idp:mfa:challenge:${digest(token)}`;
  const uidKey = (uid: string) => `idp:mfa:interaction:${uid}`;
  const read = async (key: string) => {
    const raw = await state.get(key);
    return raw ? (JSON.parse(raw) as MfaChallenge) : undefined;
  };
  return {
    async issue(challenge) {
      const token = randomBytes(32).toString('base64url');
      await state.set(tokenKey(token), JSON.stringify(challenge), ttlSeconds * 1000);
      return token;
    },
    async find(token) {
      return tokenShape.test(token) ? read(tokenKey(token)) : undefined;
    },
    async consume(token) {
      if (tokenShape.test(token)) await state.delete(tokenKey(token));
    },
    ofInteraction: (uid) => read(uidKey(uid)),
    async setForInteraction(uid, challenge) {
      await state.set(uidKey(uid), JSON.stringify(challenge), ttlSeconds * 1000);
    },
    async endForInteraction(uid) {
      await state.delete(uidKey(uid));
    },
  };
}
