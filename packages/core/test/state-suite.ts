import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SharedState } from '../src/state.ts';
import { waitFor } from '../src/testing.ts';

/**
 * The shared-state contract, run against every driver (state.test.ts). Every call of `open` in one run
 * must return a new connection to the SAME store (two replicas sharing one Redis); the suite closes
 * what it opens. Keys are unique per test, so tests do not depend on each other.
 */
export function stateSuite(
  name: string,
  open: () => Promise<SharedState>,
  options: { skip?: boolean | string } = {},
): void {
  describe(name, { timeout: 60_000, skip: options.skip ?? false }, () => {
    let a: SharedState;
    let b: SharedState; // a second connection: another replica
    before(async () => {
      a = await open();
      b = await open();
    });
    after(async () => {
      await a?.close();
      await b?.close();
    });

    const slow = { capacity: 40, refillPerSecond: 20 / 60 }; // the e-commerce limit: 20/min, burst 40

    test('a full bucket admits its burst, then rejects with the time until the next token', async () => {
      for (let i = 1; i <= 40; i++) {
        const r = await a.takeToken('burst', slow);
        assert.equal(r.allowed, true, `take ${i}`);
        assert.equal(r.remaining, 40 - i, `take ${i}`);
        if (i < 40) assert.equal(r.retryAfterMs, 0, `take ${i}`);
      }
      const rejected = await a.takeToken('burst', slow);
      assert.equal(rejected.allowed, false);
      assert.equal(rejected.remaining, 0);
      assert.ok(
        rejected.retryAfterMs > 0 && rejected.retryAfterMs <= 3000,
        `retryAfterMs ${rejected.retryAfterMs}`,
      );
      assert.ok(rejected.resetMs > 100_000 && rejected.resetMs <= 120_000, `resetMs ${rejected.resetMs}`);
    });

    test('the first take of a fresh bucket reports the time until it is full again', async () => {
      assert.deepStrictEqual(await a.takeToken('fresh', slow), {
        allowed: true,
        remaining: 39,
        retryAfterMs: 0,
        resetMs: 3000,
      });
    });

    test('an empty bucket refills over time and admits again', async () => {
      const fast = { capacity: 2, refillPerSecond: 50 };
      assert.equal((await a.takeToken('refill', fast, 2)).allowed, true);
      const rejected = await a.takeToken('refill', fast, 2);
      if (!rejected.allowed) assert.ok(rejected.retryAfterMs > 0 && rejected.retryAfterMs <= 40);
      await waitFor(async () => (await a.takeToken('refill', fast)).allowed, { what: 'a refilled token' });
    });

    test('a bucket never refills beyond its capacity', async () => {
      const fast = { capacity: 3, refillPerSecond: 1000 };
      await a.takeToken('cap', fast, 3);
      // No event to wait for: just let far more than 3 tokens' worth of refill time pass (3 ms would do).
      await new Promise((resolve) => setTimeout(resolve, 50));
      const r = await a.takeToken('cap', fast, 3);
      assert.equal(r.allowed, true);
      assert.equal(r.remaining, 0);
    });

    test('a take may cost several tokens and is refused whole when they are not all there', async () => {
      const bucket = { capacity: 5, refillPerSecond: 0.001 };
      const first = await a.takeToken('cost', bucket, 3);
      assert.deepStrictEqual([first.allowed, first.remaining, first.retryAfterMs], [true, 2, 0]);
      const second = await a.takeToken('cost', bucket, 3);
      assert.deepStrictEqual([second.allowed, second.remaining], [false, 2]);
      // One more token is needed: 1 / 0.001 per second = 1000 s.
      assert.ok(second.retryAfterMs > 990_000 && second.retryAfterMs <= 1_000_000, `${second.retryAfterMs}`);
    });

    test('buckets of different keys are independent', async () => {
      const tiny = { capacity: 1, refillPerSecond: 0.001 };
      assert.equal((await a.takeToken('ind-1', tiny)).allowed, true);
      assert.equal((await a.takeToken('ind-1', tiny)).allowed, false);
      assert.equal((await a.takeToken('ind-2', tiny)).allowed, true);
    });

    test('110 parallel takes from two replicas on a burst of 40 admit exactly 40', async () => {
      const results = await Promise.all(
        Array.from({ length: 110 }, (_, i) => (i % 2 === 0 ? a : b).takeToken('shared-limit', slow)),
      );
      assert.equal(results.filter((r) => r.allowed).length, 40);
      assert.equal(results.filter((r) => !r.allowed).length, 70);
    });

    test('a bucket with nonsense parameters is refused with GH_STATE_INVALID_ARGUMENT', async () => {
      await assert.rejects(a.takeToken('bad', { capacity: 0, refillPerSecond: 1 }), {
        code: 'GH_STATE_INVALID_ARGUMENT',
      });
      await assert.rejects(a.takeToken('bad', { capacity: 5, refillPerSecond: 0 }), {
        code: 'GH_STATE_INVALID_ARGUMENT',
      });
      await assert.rejects(a.takeToken('bad', { capacity: 5, refillPerSecond: 1 }, 6), {
        code: 'GH_STATE_INVALID_ARGUMENT',
      });
    });

    test('slots admit up to the limit, refuse beyond it, and free on release', async () => {
      assert.equal(await a.acquireSlot('slots', 2, 60_000), true);
      assert.equal(await b.acquireSlot('slots', 2, 60_000), true);
      assert.equal(await a.acquireSlot('slots', 2, 60_000), false);
      await b.releaseSlot('slots');
      assert.equal(await a.acquireSlot('slots', 2, 60_000), true);
      assert.equal(await a.acquireSlot('slots', 2, 60_000), false);
    });

    test('releasing a slot that is not held changes nothing', async () => {
      await a.releaseSlot('never-held');
      assert.equal(await a.acquireSlot('never-held', 1, 60_000), true);
      assert.equal(await a.acquireSlot('never-held', 1, 60_000), false);
    });

    test('a slot whose holder never releases it frees itself after its TTL', async () => {
      assert.equal(await a.acquireSlot('slot-ttl', 1, 50), true);
      await waitFor(() => a.acquireSlot('slot-ttl', 1, 60_000), { what: 'the slot to expire' });
      assert.equal(await b.acquireSlot('slot-ttl', 1, 60_000), false);
    });

    test('50 parallel slot requests from two replicas on a limit of 10 admit exactly 10', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).acquireSlot('slot-race', 10, 60_000)),
      );
      assert.equal(results.filter(Boolean).length, 10);
    });

    test('a value set on one replica is read on the other, overwritten, and deleted', async () => {
      assert.equal(await b.get('kv'), null);
      await a.set('kv', 'one');
      assert.equal(await b.get('kv'), 'one');
      await b.set('kv', 'two', 60_000);
      assert.equal(await a.get('kv'), 'two');
      await a.delete('kv');
      assert.equal(await b.get('kv'), null);
      await a.delete('kv'); // deleting a missing key is harmless
    });

    test('a value with a TTL disappears after it; one without stays', async () => {
      await a.set('ttl-keep', 'kept');
      await a.set('ttl-gone', 'gone', 50);
      await waitFor(async () => (await b.get('ttl-gone')) === null, { what: 'the key to expire' });
      assert.equal(await b.get('ttl-keep'), 'kept');
    });

    test('setting a value again without a TTL removes its old TTL', async () => {
      await a.set('ttl-cleared', 'v1', 50);
      await a.set('ttl-cleared', 'v2');
      await a.set('ttl-marker', 'm', 50);
      await waitFor(async () => (await a.get('ttl-marker')) === null, { what: 'the marker to expire' });
      assert.equal(await a.get('ttl-cleared'), 'v2');
    });

    test('setIfAbsent stores only when the key is missing or expired', async () => {
      assert.equal(await a.setIfAbsent('once', 'first', 60_000), true);
      assert.equal(await b.setIfAbsent('once', 'second', 60_000), false);
      assert.equal(await b.get('once'), 'first');
      await a.delete('once');
      assert.equal(await b.setIfAbsent('once', 'third', 50), true);
      await waitFor(() => a.setIfAbsent('once', 'fourth', 60_000), { what: 'the key to expire' });
      assert.equal(await b.get('once'), 'fourth');
    });

    test('20 parallel setIfAbsent calls from two replicas let exactly one win', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).setIfAbsent('replay', `r${i}`, 60_000)),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('buckets, slots and values of the same name do not collide', async () => {
      await a.set('same-name', 'value');
      assert.equal((await a.takeToken('same-name', slow)).allowed, true);
      assert.equal(await a.acquireSlot('same-name', 1, 60_000), true);
      assert.equal(await a.get('same-name'), 'value');
    });

    test('a message published on one replica reaches every subscriber on every replica', async () => {
      const onA: string[] = [];
      const onB: string[] = [];
      const offA = await a.subscribe('news', (m) => onA.push(m));
      const offB = await b.subscribe('news', (m) => onB.push(m));
      await b.publish('news', '{"kind":"jti","value":"x"}');
      await waitFor(() => onA.length === 1 && onB.length === 1, { what: 'both deliveries' });
      assert.deepStrictEqual(onA, ['{"kind":"jti","value":"x"}']);
      assert.deepStrictEqual(onB, ['{"kind":"jti","value":"x"}']);
      await offA();
      await offB();
    });

    test('after unsubscribing, a handler gets nothing more while others on the channel still do', async () => {
      const gone: string[] = [];
      const stays: string[] = [];
      const marker: string[] = [];
      const offGone = await a.subscribe('chan', (m) => gone.push(m));
      const offStays = await a.subscribe('chan', (m) => stays.push(m));
      const offMarker = await a.subscribe('chan-marker', (m) => marker.push(m));
      await offGone();
      await b.publish('chan', 'after');
      await b.publish('chan-marker', 'done');
      // Messages from one publisher arrive in order: once the marker is in, 'after' was delivered.
      await waitFor(() => marker.length === 1 && stays.length === 1, { what: 'the marker' });
      assert.deepStrictEqual(gone, []);
      assert.deepStrictEqual(stays, ['after']);
      await offStays();
      await offMarker();
    });

    test('ping answers while open; after close every call fails with GH_STATE_UNAVAILABLE', async () => {
      const c = await open();
      await c.ping();
      await c.close();
      await c.close(); // closing twice is harmless
      await assert.rejects(c.get('x'), { code: 'GH_STATE_UNAVAILABLE', status: 503 });
      await assert.rejects(c.takeToken('x', slow), { code: 'GH_STATE_UNAVAILABLE' });
      await assert.rejects(c.ping(), { code: 'GH_STATE_UNAVAILABLE' });
    });
  });
}
