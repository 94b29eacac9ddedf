import { createHash, randomUUID } from 'node:crypto';
import type { SharedState } from '@gatehouse/core';
import type { AccountsConfig, BruteForceLimit } from './accounts-config.ts';
import { idpErrors } from './errors.ts';

/**
 * Brute-force protection for password logins, per account name and per source address, counted in
 * the shared state so that every replica sees the same numbers.
 *
 * - Each failed login takes one token from a bucket of `lockoutAfter` tokens that refills over
 *   `windowSeconds` (an atomic operation on both state drivers, so parallel guesses all count).
 * - Past `freeAttempts` failures, the next attempt must wait `delayBaseMs`, doubling with each
 *   further failure up to `delayMaxMs`; an attempt during the wait is refused without checking the
 *   password (IDP_LOGIN_THROTTLED, Retry-After).
 * - When the bucket is empty, logins are locked for `lockoutSeconds` (IDP_LOGIN_LOCKED), even with
 *   the right password.
 * - The account counter is keyed by the normalized username, not by the account: a name that does
 *   not exist is throttled and locked exactly like one that does. A successful login resets the
 *   account counter (a new bucket generation); the source counter only drains with time, so one valid
 *   account cannot be used to wash away guesses against others.
 */
export interface LoginSubject {
  /** Normalized username key (usernameKey()). */
  usernameKey: string;
  /** Source address of the request. */
  ip: string;
}

export interface BruteForceGuard {
  /** Throw IDP_LOGIN_LOCKED / IDP_LOGIN_THROTTLED when this attempt must not be checked. */
  check(subject: LoginSubject): Promise<void>;
  /** Count a failed attempt; returns whether it locked the account name or the source. */
  recordFailure(subject: LoginSubject): Promise<{ locked: boolean }>;
  recordSuccess(subject: LoginSubject): Promise<void>;
}

type Scope = 'account' | 'source';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64url').slice(0, 22);

export function createBruteForceGuard(
  state: SharedState,
  config: AccountsConfig['bruteForce'],
): BruteForceGuard {
  const limits: Record<Scope, BruteForceLimit> = { account: config.account, source: config.source };
  // Hashed so that usernames (personal data) and addresses are not readable as Redis keys.
  const ids = (s: LoginSubject): Array<[Scope, string]> => [
    ['account', digest(s.usernameKey)],
    ['source', digest(s.ip)],
  ];
  const lockKey = (scope: Scope, id: string) => `idp:bf:lock:${scope}:${id}`;
  const waitKey = (scope: Scope, id: string) => `idp:bf:wait:${scope}:${id}`;
  const generationKey = (scope: Scope, id: string) => `idp:bf:gen:${scope}:${id}`;

  async function bucketKey(scope: Scope, id: string): Promise<string> {
    const generation = (await state.get(generationKey(scope, id))) ?? '0';
    return `idp:bf:fail:${scope}:${id}:${generation}`;
  }

  const retryAfter = (untilMs: number) => ({
    headers: { 'retry-after': String(Math.max(1, Math.ceil((untilMs - Date.now()) / 1000))) },
  });

  return {
    async check(subject) {
      if (!config.enabled) return;
      // The four reads at once (one round trip to Redis instead of four), judged in the same order
      // as before: a lock on either scope first, then a wait on either.
      const scopes = ids(subject);
      const [locks, waits] = await Promise.all([
        Promise.all(scopes.map(([scope, id]) => state.get(lockKey(scope, id)))),
        Promise.all(scopes.map(([scope, id]) => state.get(waitKey(scope, id)))),
      ]);
      for (const locked of locks) {
        if (locked) throw idpErrors.create('IDP_LOGIN_LOCKED', undefined, retryAfter(Number(locked)));
      }
      for (const wait of waits) {
        if (wait && Number(wait) > Date.now()) {
          throw idpErrors.create('IDP_LOGIN_THROTTLED', undefined, retryAfter(Number(wait)));
        }
      }
    },

    async recordFailure(subject) {
      if (!config.enabled) return { locked: false };
      let locked = false;
      for (const [scope, id] of ids(subject)) {
        const limit = limits[scope];
        const taken = await state.takeToken(await bucketKey(scope, id), {
          capacity: limit.lockoutAfter,
          refillPerSecond: limit.lockoutAfter / limit.windowSeconds,
        });
        const failures = limit.lockoutAfter - taken.remaining;
        if (!taken.allowed || taken.remaining === 0) {
          const ms = limit.lockoutSeconds * 1000;
          await state.set(lockKey(scope, id), String(Date.now() + ms), ms);
          locked = true;
          continue;
        }
        const beyond = failures - limit.freeAttempts;
        if (beyond > 0 && limit.delayBaseMs > 0) {
          const ms = Math.min(limit.delayBaseMs * 2 ** Math.min(beyond - 1, 20), limit.delayMaxMs);
          if (ms > 0) await state.set(waitKey(scope, id), String(Date.now() + ms), ms);
        }
      }
      return { locked };
    },

    async recordSuccess(subject) {
      if (!config.enabled) return;
      const [, id] = ids(subject)[0]!;
      const windowMs = limits.account.windowSeconds * 1000;
      await Promise.all([
        state.set(generationKey('account', id), randomUUID(), windowMs),
        state.delete(waitKey('account', id)),
      ]);
    },
  };
}
