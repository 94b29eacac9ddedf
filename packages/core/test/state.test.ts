import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { openState } from '../src/state.ts';
import { MemoryStore, openMemoryState } from '../src/state-memory.ts';
import {
  deleteRedisKeys,
  redisTestUrl,
  skipUnlessService,
  startCuttableRelay,
  uniqueSchemaName,
  waitFor,
} from '../src/testing.ts';
import { stateSuite } from './state-suite.ts';

const redisSkip = await skipUnlessService('redis');
const prefix = `${uniqueSchemaName()}:`;
after(() => (redisSkip ? undefined : deleteRedisKeys(`${prefix}*`)));

// Two MemoryStates over one store stand for two connections, as two ioredis clients over one Redis.
const store = new MemoryStore();
stateSuite('shared state [memory]', () => openMemoryState(store));

stateSuite(
  'shared state [redis]',
  () => openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: prefix }),
  {
    skip: redisSkip,
  },
);

describe('memory state', () => {
  test('two separately opened memory states share nothing', async () => {
    const one = await openState({ driver: 'memory' });
    const two = await openState({ driver: 'memory' });
    try {
      await one.set('k', 'v');
      assert.equal(await two.get('k'), null);
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('redis state', { skip: redisSkip }, () => {
  test('states with different key prefixes see neither each other’s keys nor messages', async () => {
    const p1 = `${prefix}p1:`;
    const p2 = `${prefix}p2:`;
    const one = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: p1 });
    const two = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: p2 });
    try {
      await one.set('k', 'v');
      assert.equal(await two.get('k'), null);
      const heard: string[] = [];
      const marker: string[] = [];
      await two.subscribe('ch', (m) => heard.push(m));
      await two.subscribe('marker', (m) => marker.push(m));
      await one.publish('ch', 'for p1 only');
      await two.publish('marker', 'done');
      await waitFor(() => marker.length === 1, { what: 'the marker' });
      assert.deepStrictEqual(heard, []);
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('keys live under the prefix in Redis, with the TTL asked for', async () => {
    const state = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: prefix });
    const raw = new Redis(redisTestUrl());
    try {
      await state.set('gatehouse:revoked:jti:abc', '1', 60_000);
      assert.equal(await raw.get(`${prefix}kv:gatehouse:revoked:jti:abc`), '1');
      const ttl = await raw.pttl(`${prefix}kv:gatehouse:revoked:jti:abc`);
      assert.ok(ttl > 0 && ttl <= 60_000, `pttl ${ttl}`);
    } finally {
      raw.disconnect();
      await state.close();
    }
  });

  test('the Lua scripts are reloaded when Redis has forgotten them (SCRIPT FLUSH)', async () => {
    const state = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: prefix });
    const raw = new Redis(redisTestUrl());
    try {
      assert.equal((await state.takeToken('flush', { capacity: 2, refillPerSecond: 0.001 })).remaining, 1);
      await raw.script('FLUSH');
      assert.equal((await state.takeToken('flush', { capacity: 2, refillPerSecond: 0.001 })).remaining, 0);
      assert.equal(await state.acquireSlot('flush', 1, 60_000), true);
    } finally {
      raw.disconnect();
      await state.close();
    }
  });

  test('a subscription lost with its connection comes back, and onResubscribed says when it is live', async () => {
    const relay = await startCuttableRelay(redisTestUrl());
    const subscriber = await openState({ driver: 'redis', url: relay.url, keyPrefix: prefix });
    const publisher = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: prefix });
    try {
      const got: string[] = [];
      let resubscribed = 0;
      await subscriber.subscribe(
        'resubscribe',
        (m) => got.push(m),
        () => resubscribed++,
      );
      await publisher.publish('resubscribe', 'before');
      await waitFor(() => got.length === 1, { what: 'the first message' });

      relay.cut();
      await publisher.publish('resubscribe', 'lost');
      relay.restore();
      await waitFor(() => resubscribed === 1, { what: 'onResubscribed', timeoutMs: 5000 });
      // Live when it is called: a message published now arrives; the one sent while down never does.
      await publisher.publish('resubscribe', 'after');
      await waitFor(() => got.length === 2, { what: 'the message after the restore' });
      assert.deepEqual(got, ['before', 'after']);
    } finally {
      await subscriber.close();
      await publisher.close();
      await relay.close();
    }
  });

  test('an unreachable Redis gives GH_STATE_UNAVAILABLE (503) without leaking the password', async () => {
    await assert.rejects(openState({ driver: 'redis', url: 'redis://:s3cret@127.0.0.1:1' }), (err) => {
      assert.equal((err as { code?: string }).code, 'GH_STATE_UNAVAILABLE');
      assert.equal((err as { status?: number }).status, 503);
      assert.doesNotMatch((err as Error).message, /s3cret/);
      return true;
    });
  });
});
