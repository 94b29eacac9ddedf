// Redis down: the idp stays ready for what it can still do (issue tokens, sign in with brute-force
// counters per replica) instead of leaving rotation.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState } from '@gatehouse/core';
import {
  type CuttableRelay,
  deleteRedisKeys,
  redisTestUrl,
  skipUnlessService,
  startCuttableRelay,
} from '@gatehouse/core/testing';
import { resolveAccountsConfig } from '../src/accounts/accounts-config.ts';
import { createBruteForceGuard } from '../src/accounts/brute-force.ts';
import { startIdp, type TestIdp } from './idp-harness.ts';

const form = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('identity provider with Redis down [redis]', { skip: await skipUnlessService('redis') }, () => {
  let relay: CuttableRelay;
  let state: SharedState;
  let t: TestIdp;
  const keyPrefix = `gh_test_${randomUUID()}:`;
  before(async () => {
    relay = await startCuttableRelay(redisTestUrl());
    state = await openState({ driver: 'redis', url: relay.url, keyPrefix });
    t = await startIdp({ state });
  });
  after(async () => {
    relay?.restore();
    await t?.close();
    await state?.close();
    await relay?.close();
    await deleteRedisKeys(`${keyPrefix}*`);
  });

  test('readiness stays 200, degraded, naming the failing state', async () => {
    relay.cut();
    const res = await fetch(`${t.origin}/health/ready`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'degraded', checks: { sql: 'ok', state: 'failing' } });
  });

  test('tokens are still issued', async () => {
    relay.cut();
    const res = await fetch(`${t.issuer}/token`, {
      method: 'POST',
      headers: { authorization: basic('demo-service', 'demo-service-secret'), 'content-type': form },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { token_type: string }).token_type, 'Bearer');
  });

  test('brute-force counters fall back to this process: still throttled and locked, per replica', async () => {
    relay.cut();
    const limits = {
      freeAttempts: 1,
      delayBaseMs: 0,
      lockoutAfter: 3,
      windowSeconds: 900,
      lockoutSeconds: 900,
    };
    const guard = createBruteForceGuard(
      state,
      resolveAccountsConfig({ bruteForce: { account: limits } }).bruteForce,
    );
    const who = { usernameKey: `frank-${randomUUID()}`, ip: '192.0.2.60' };
    const started = Date.now();
    assert.equal(await code(guard.check(who)), undefined);
    await guard.recordFailure(who);
    await guard.recordFailure(who);
    assert.deepEqual(await guard.recordFailure(who), { locked: true });
    assert.equal(await code(guard.check(who)), 'IDP_LOGIN_LOCKED');
    // Redis's reconnect time is paid once per outage, not on every attempt.
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  test('once Redis is back, readiness is ok again', async () => {
    relay.restore();
    let body: unknown;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${t.origin}/health/ready`);
      body = await res.json();
      if ((body as { status: string }).status === 'ok') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(body, { status: 'ok', checks: { sql: 'ok', state: 'ok' } });
  });
});
