import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AccountsIdp, startAccountsIdp } from './accounts-harness.ts';

const noDelay = {
  freeAttempts: 3,
  delayBaseMs: 0,
  lockoutAfter: 10,
  windowSeconds: 900,
  lockoutSeconds: 900,
};

async function login(t: AccountsIdp, username: string, password: string, forwardedFor = '198.51.100.7') {
  const res = await fetch(`${t.origin}/authentication/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, body: await res.text(), retryAfter: res.headers.get('retry-after') };
}

describe('brute-force protection: lockout', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { account: noDelay } } });
  });
  after(() => t?.close());

  test('20 wrong passwords lock the account, and a non-existent account answers exactly the same', async () => {
    const real: Array<{ status: number; body: string }> = [];
    const ghost: Array<{ status: number; body: string }> = [];
    for (let i = 0; i < 20; i++) {
      const a = await login(t, 'bob', `wrong-${i}`, '198.51.100.1');
      const b = await login(t, 'no-such-user', `wrong-${i}`, '198.51.100.2');
      real.push({ status: a.status, body: a.body });
      ghost.push({ status: b.status, body: b.body });
    }
    assert.deepEqual(real, ghost);
    assert.deepEqual(
      real.slice(0, 9).map((r) => r.status),
      Array(9).fill(401),
    );
    assert.equal(JSON.parse(real[0]!.body).error, 'IDP_INVALID_CREDENTIALS');
    assert.deepEqual(
      real.slice(10).map((r) => JSON.parse(r.body).error),
      Array(10).fill('IDP_LOGIN_LOCKED'),
    );
    assert.equal(real[19]!.status, 429);
  });

  test('a locked account refuses even the right password, with Retry-After', async () => {
    const res = await login(t, 'bob', 'bob-password', '198.51.100.3');
    assert.equal(res.status, 429);
    assert.equal(JSON.parse(res.body).error, 'IDP_LOGIN_LOCKED');
    assert.ok(Number(res.retryAfter) > 800 && Number(res.retryAfter) <= 900, `retry-after ${res.retryAfter}`);
  });

  test('the lockout of one account leaves another account usable', async () => {
    const res = await login(t, 'alice', 'alice-password', '198.51.100.4');
    assert.equal(res.status, 200);
  });

  test('failures and the lockout are in the audit trail, without the passwords', async () => {
    const locked = await t.accounts.audit.query({ type: 'login.locked' });
    assert.ok(locked.length >= 1);
    const failed = await t.accounts.audit.query({ type: 'login.failed', limit: 500 });
    assert.ok(failed.length >= 19);
    assert.doesNotMatch(JSON.stringify(failed), /wrong-\d/);
  });
});

describe('brute-force protection: growing delays', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({
      accounts: {
        bruteForce: { account: { ...noDelay, freeAttempts: 2, delayBaseMs: 60_000, delayMaxMs: 600_000 } },
      },
    });
  });
  after(() => t?.close());

  test('past the free attempts, the next try must wait, for real and unknown accounts alike', async () => {
    for (const name of ['alice', 'nobody-at-all']) {
      assert.equal((await login(t, name, 'wrong-1')).status, 401);
      assert.equal((await login(t, name, 'wrong-2')).status, 401);
      assert.equal((await login(t, name, 'wrong-3')).status, 401);
      const throttled = await login(t, name, 'alice-password');
      assert.equal(throttled.status, 429);
      assert.equal(JSON.parse(throttled.body).error, 'IDP_LOGIN_THROTTLED');
      assert.ok(Number(throttled.retryAfter) > 50 && Number(throttled.retryAfter) <= 60);
    }
  });
});

describe('brute-force protection: per source address', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({
      accounts: { bruteForce: { source: { ...noDelay, freeAttempts: 100, lockoutAfter: 5 } } },
    });
  });
  after(() => t?.close());

  test('guessing across many names from one address locks that address only', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await login(t, `user${i}`, 'guess-guess', '203.0.113.9')).status, 401);
    const blocked = await login(t, 'alice', 'alice-password', '203.0.113.9');
    assert.equal(blocked.status, 429);
    assert.equal(JSON.parse(blocked.body).error, 'IDP_LOGIN_LOCKED');
    assert.equal((await login(t, 'alice', 'alice-password', '203.0.113.10')).status, 200);
  });

  test('X-Forwarded-For is believed only from a trusted proxy: its rightmost untrusted hop counts', async () => {
    // The client wrote 203.0.113.9 itself; the proxy (loopback, trusted) appended the real peer.
    const res = await login(t, 'alice', 'alice-password', '203.0.113.9, 192.0.2.200');
    assert.equal(res.status, 200);
  });
});
