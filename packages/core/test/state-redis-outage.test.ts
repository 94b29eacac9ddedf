// A Redis restart under the Redis state: a private redis-server of the test's own is stopped and
// started again on the same port. While it is down every call fails at once with
// GH_STATE_UNAVAILABLE, however long the outage has lasted (callers answer 503 or fall back, they
// do not wait for the client's reconnection attempts); once it is back the state answers, and its
// subscriptions are live, within about a second.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState } from '@gatehouse/core';
import { type PrivateRedis, privateRedisSkip, startPrivateRedis, waitFor } from '@gatehouse/core/testing';

/**
 * A call made while Redis is down must settle within this: one held by the client waits many
 * seconds, and the margin keeps a loaded test machine from failing a fast one.
 */
const FAIL_FAST_MS = 500;
/** Once Redis is back, the state answers again within this. */
const RESUME_MS = 1500;

/** How `call` settled, or 'pending' when it had not within `limitMs`. */
async function settle(
  call: () => Promise<unknown>,
  limitMs: number,
): Promise<{ ms: number; code?: string } | 'pending'> {
  const t = performance.now();
  const outcome = call().then(
    () => ({ ms: performance.now() - t }),
    (err: unknown) => ({ ms: performance.now() - t, code: String((err as { code?: unknown }).code) }),
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), limitMs);
  });
  try {
    return await Promise.race([outcome, late]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const skip = privateRedisSkip();

let redis: PrivateRedis;
let state: SharedState;

before(async () => {
  if (skip) return;
  redis = await startPrivateRedis();
  state = await openState({ driver: 'redis', url: redis.url, keyPrefix: 'outage:' });
});

after(async () => {
  await state?.close();
  await redis?.stop();
});

describe('the Redis state through a Redis restart', { skip }, () => {
  test('down: every call fails at once, from the first second to the last; back: it answers within a second', async () => {
    let resubscribed = 0;
    const got: string[] = [];
    await state.subscribe(
      'outage',
      (m) => got.push(m),
      () => resubscribed++,
    );
    await state.set('key', 'before');

    await redis.stop();
    const calls: Record<string, () => Promise<unknown>> = {
      get: () => state.get('key'),
      set: () => state.set('key', 'during'),
      setIfAbsent: () => state.setIfAbsent('lock', '1', 15_000),
      takeToken: () => state.takeToken('bucket', { capacity: 10, refillPerSecond: 1 }),
      acquireSlot: () => state.acquireSlot('slot', 10, 60_000),
      publish: () => state.publish('outage', 'lost'),
      ping: () => state.ping(),
    };
    // Over several seconds: a call held until some reconnection attempt, whose pauses grow as the
    // outage lasts, would answer fast early on and ever slower later.
    const slow: string[] = [];
    for (const at of [0, 1000, 2000, 3000]) {
      await sleep(at === 0 ? 0 : 1000);
      for (const [name, call] of Object.entries(calls)) {
        const r = await settle(call, FAIL_FAST_MS);
        if (r === 'pending') slow.push(`${name} at ${at} ms: no answer within ${FAIL_FAST_MS} ms`);
        else if (r.code !== 'GH_STATE_UNAVAILABLE')
          slow.push(`${name} at ${at} ms: ${r.code ?? 'succeeded'}`);
      }
    }
    assert.deepEqual(slow, []);

    await redis.start();
    const back = performance.now();
    await waitFor(
      async () => {
        const r = await settle(() => state.get('key'), 100);
        return r !== 'pending' && r.code === undefined;
      },
      { what: 'the state answering again', timeoutMs: RESUME_MS },
    );
    const resumedMs = performance.now() - back;
    assert.ok(resumedMs < RESUME_MS, `answered ${Math.round(resumedMs)} ms after Redis was back`);

    await waitFor(() => resubscribed === 1, { what: 'the subscription live again', timeoutMs: RESUME_MS });
    await state.publish('outage', 'after');
    await waitFor(() => got.length === 1, { what: 'the message sent after the restart' });
    assert.deepEqual(got, ['after']);
  });
});
