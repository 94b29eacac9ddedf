import { createHash, randomUUID } from 'node:crypto';
import { openState, type SharedState, storageErrors } from '@gatehouse/core';
import type { Logger } from 'pino';
import { idpErrors } from '../errors.ts';
import type { AccountsConfig, BruteForceLimit } from './accounts-config.ts';

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

const SHARED_WAIT_MS = 1000;
const SHARED_RETRY_MS = 5000;

/** `p`, or GH_STATE_UNAVAILABLE once `ms` have passed (the shared state is too slow to wait for). */
function withinMs<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(storageErrors.create('GH_STATE_UNAVAILABLE', `shared state did not answer within ${ms} ms`)),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * While the shared state is unavailable, the counters fall back to this process's memory: sign-in
 * keeps working and is still throttled and locked, but per replica (an attacker spreading guesses
 * over N replicas gets up to N times the attempts) until the shared state answers again. Counts made
 * meanwhile stay local and are not merged back.
 */
export function createBruteForceGuard(
  state: SharedState,
  config: AccountsConfig['bruteForce'],
  logger?: Logger,
): BruteForceGuard {
  const shared = guardOn(state, config);
  if (state.driver === 'memory') return shared;
  let local: Promise<BruteForceGuard> | undefined;
  // While degraded, the shared state is asked again only now and then, and never waited on long:
  // a sign-in must not pay Redis's reconnect time on every attempt.
  let retrySharedAt = 0;
  async function run<T>(step: (guard: BruteForceGuard) => Promise<T>): Promise<T> {
    if (Date.now() >= retrySharedAt) {
      try {
        const result = await withinMs(step(shared), SHARED_WAIT_MS);
        if (retrySharedAt > 0) logger?.info('brute-force counters shared again');
        retrySharedAt = 0;
        return result;
      } catch (err) {
        if ((err as { code?: string }).code !== 'GH_STATE_UNAVAILABLE') throw err;
        if (retrySharedAt === 0) {
          logger?.warn(
            { err: (err as Error).message },
            'shared state unavailable: brute-force counters are per replica',
          );
        }
        retrySharedAt = Date.now() + SHARED_RETRY_MS;
      }
    }
    local ??= openState({ driver: 'memory' }).then((memory) => guardOn(memory, config));
    return step(await local);
  }
  return {
    check: (subject) => run((g) => g.check(subject)),
    recordFailure: (subject) => run((g) => g.recordFailure(subject)),
    recordSuccess: (subject) => run((g) => g.recordSuccess(subject)),
  };
}

function guardOn(state: SharedState, config: AccountsConfig['bruteForce']): BruteForceGuard {
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
