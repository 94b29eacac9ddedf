import assert from 'node:assert/strict';
import { test } from 'node:test';
import { takeOnce } from '../src/storage/take-once.ts';

test('an entry is handed out once, an undefined value as { value: undefined }, a missing one as undefined', () => {
  const map = new Map<string, number | undefined>([
    ['a', 1],
    ['none', undefined],
  ]);
  assert.deepEqual(takeOnce(map, 'a'), { value: 1 });
  assert.equal(takeOnce(map, 'a'), undefined);
  assert.deepEqual(takeOnce(map, 'none'), { value: undefined });
  assert.equal(map.size, 0);
  assert.equal(takeOnce(map, 'missing'), undefined);
  assert.equal(takeOnce(undefined, 'a'), undefined);
});
