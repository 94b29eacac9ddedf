import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState } from '@gatehouse/core';
import { openTestState, redisTestUrl, skipUnlessService, type TestState } from '@gatehouse/core/testing';
import { resolveAccountsConfig } from '../src/accounts/accounts-config.ts';
import { createBruteForceGuard } from '../src/accounts/brute-force.ts';

const limits = { freeAttempts: 1, delayBaseMs: 0, lockoutAfter: 4, windowSeconds: 900, lockoutSeconds: 900 };
const config = resolveAccountsConfig({ bruteForce: { account: limits } }).bruteForce;

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('brute-force guard shared by two replicas [redis]', {
  skip: await skipUnlessService('redis'),
}, () => {
  let first: TestState;
  let second: SharedState;
  before(async () => {
    first = await openTestState('redis');
    second = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: first.keyPrefix! });
  });
  after(async () => {
    await second?.close();
    await first?.cleanup();
  });

  test('failures counted on two replicas add up to one lockout', async () => {
    const a = createBruteForceGuard(first.state, config);
    const b = createBruteForceGuard(second, config);
    const who = { usernameKey: 'carol', ip: '192.0.2.50' };
    await a.recordFailure(who);
    await b.recordFailure(who);
    await a.recordFailure(who);
    assert.equal(await code(b.check(who)), undefined);
    assert.deepEqual(await b.recordFailure(who), { locked: true });
    assert.equal(await code(a.check(who)), 'IDP_LOGIN_LOCKED');
  });

  test('a success resets the account counter on every replica', async () => {
    const a = createBruteForceGuard(first.state, config);
    const b = createBruteForceGuard(second, config);
    const who = { usernameKey: 'dave', ip: '192.0.2.51' };
    for (let i = 0; i < 3; i++) await a.recordFailure(who);
    await b.recordSuccess(who);
    assert.deepEqual(await a.recordFailure(who), { locked: false });
  });
});

describe('brute-force guard turned off', () => {
  test('never throttles or locks', async () => {
    const st = await openTestState('memory');
    const guard = createBruteForceGuard(st.state, { ...config, enabled: false });
    const who = { usernameKey: 'erin', ip: '192.0.2.52' };
    for (let i = 0; i < 10; i++) assert.deepEqual(await guard.recordFailure(who), { locked: false });
    assert.equal(await code(guard.check(who)), undefined);
    await st.cleanup();
  });
});

describe('brute-force guard: which refusal wins', () => {
  test('a lock on the source is reported before a wait on the account, with its own Retry-After', async () => {
    const st = await openTestState('memory');
    const guard = createBruteForceGuard(
      st.state,
      resolveAccountsConfig({
        bruteForce: {
          account: { freeAttempts: 0, delayBaseMs: 5000, delayMaxMs: 5000, lockoutAfter: 10 },
          source: { freeAttempts: 0, lockoutAfter: 1, windowSeconds: 900, lockoutSeconds: 600 },
        },
      }).bruteForce,
    );
    const who = { usernameKey: 'frank', ip: '192.0.2.53' };
    assert.deepEqual(await guard.recordFailure(who), { locked: true });
    const refused = await guard.check(who).then(
      () => undefined,
      (err: { code?: string; headers?: Record<string, string> }) => err,
    );
    assert.equal(refused?.code, 'IDP_LOGIN_LOCKED');
    assert.equal(refused?.headers?.['retry-after'], '600');
    // Another address is only made to wait: the account's delay applies to it.
    assert.equal(await code(guard.check({ ...who, ip: '192.0.2.54' })), 'IDP_LOGIN_THROTTLED');
    await st.cleanup();
  });
});
