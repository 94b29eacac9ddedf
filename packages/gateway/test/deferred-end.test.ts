import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import { endInCheckPhase } from '../src/upstreams/deferred-end.ts';

/** Records how it was ended; `fail` makes its `end` throw. */
function fakeResponse(name: string, log: string[], fail = false) {
  const res = {
    destroyedWith: undefined as Error | undefined,
    end(body?: string, encoding?: string) {
      if (fail) throw new Error(`${name} cannot end`);
      log.push(body === undefined ? `${name}: end()` : `${name}: end(${body}, ${encoding})`);
    },
    destroy(err: Error) {
      res.destroyedWith = err;
      log.push(`${name}: destroyed`);
    },
  };
  return res;
}

describe('answers ended together in the check phase', () => {
  test('not ended at once, then all ended in the order given, with or without a body', async () => {
    const log: string[] = [];
    endInCheckPhase(fakeResponse('a', log) as unknown as ServerResponse, '{"a":1}');
    endInCheckPhase(fakeResponse('b', log) as unknown as ServerResponse);
    endInCheckPhase(fakeResponse('c', log) as unknown as ServerResponse, '');
    assert.deepEqual(log, []);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['a: end({"a":1}, latin1)', 'b: end()', 'c: end(, latin1)']);
  });

  test('an answer whose end throws is destroyed, and the answers after it are still ended', async () => {
    const log: string[] = [];
    const bad = fakeResponse('bad', log, true);
    endInCheckPhase(bad as unknown as ServerResponse, 'x');
    endInCheckPhase(fakeResponse('next', log) as unknown as ServerResponse, 'y');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['bad: destroyed', 'next: end(y, latin1)']);
    assert.equal(bad.destroyedWith?.message, 'bad cannot end');
  });

  test('an answer ended during the check phase goes out in the next one, not lost', async () => {
    const log: string[] = [];
    endInCheckPhase(fakeResponse('first', log) as unknown as ServerResponse, '1');
    setImmediate(() => endInCheckPhase(fakeResponse('later', log) as unknown as ServerResponse, '2'));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log, ['first: end(1, latin1)', 'later: end(2, latin1)']);
  });
});
