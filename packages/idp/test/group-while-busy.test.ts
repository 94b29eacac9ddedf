import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { groupWhileBusy } from '../src/storage/group-while-busy.ts';

/** A flush that records its groups and settles them when `release()` is called. */
function recorder() {
  const groups: string[][] = [];
  const releases: Array<() => void> = [];
  const flush = (group: string[]) =>
    new Promise<void>((resolve) => {
      groups.push(group);
      releases.push(resolve);
    });
  const release = async () => {
    releases.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { groups, flush, release };
}

describe('groupWhileBusy', () => {
  test('an idle queue sends the first item at once, alone', () => {
    const r = recorder();
    const push = groupWhileBusy({ max: 10, flush: r.flush });
    push('a');
    assert.deepEqual(r.groups, [['a']]);
  });

  test('items that arrive while a group is in flight go together in the next one, in order', async () => {
    const r = recorder();
    const push = groupWhileBusy({ max: 10, flush: r.flush });
    push('a');
    push('b');
    push('c');
    assert.deepEqual(r.groups, [['a']]);
    await r.release();
    assert.deepEqual(r.groups, [['a'], ['b', 'c']]);
    await r.release();
    push('d');
    assert.deepEqual(r.groups, [['a'], ['b', 'c'], ['d']]);
  });

  test('a group holds at most `max` units of `size`; an item larger than max still goes, alone', async () => {
    const r = recorder();
    const push = groupWhileBusy<string>({ max: 4, size: (item) => item.length, flush: r.flush });
    push('x');
    for (const item of ['aa', 'bb', 'c', 'dddddd', 'e']) push(item);
    await r.release();
    await r.release();
    await r.release();
    assert.deepEqual(r.groups, [['x'], ['aa', 'bb'], ['c'], ['dddddd']]);
    await r.release();
    assert.deepEqual(r.groups.at(-1), ['e']);
  });
});
