import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExpandNode } from '@gatehouse/authz';
import { checkPath, type PathNode } from '../src/permissions/check-path.ts';

// The check tester's path: Expand answers (OpenFGA's shape) walked in the console, each userset
// expanded in turn, the nodes that reach the user marked; bounded and cycle-safe.
const trees: Record<string, ExpandNode> = {
  'document:plan#viewer': {
    name: 'document:plan#viewer',
    union: {
      nodes: [
        { name: 'document:plan#viewer', leaf: { users: { users: ['user:cy'] } } },
        { name: 'document:plan#viewer', leaf: { computed: { userset: 'document:plan#editor' } } },
      ],
    },
  },
  'document:plan#editor': {
    name: 'document:plan#editor',
    leaf: { users: { users: ['group:eng#member'] } },
  },
  'group:eng#member': {
    name: 'group:eng#member',
    leaf: { users: { users: ['user:bob', 'group:eng#member'] } },
  },
  'folder:a#viewer': {
    name: 'folder:a#viewer',
    difference: {
      base: { name: 'folder:a#viewer', leaf: { users: { users: ['user:*'] } } },
      subtract: { name: 'folder:a#viewer', leaf: { users: { users: ['user:eve'] } } },
    },
  },
};

function expander() {
  const calls: string[] = [];
  return {
    calls,
    expand: async (object: string, relation: string) => {
      calls.push(`${object}#${relation}`);
      const tree = trees[`${object}#${relation}`];
      if (!tree) throw new Error(`no tree for ${object}#${relation}`);
      return tree;
    },
  };
}

const onPath = (n: PathNode): string[] => (n.reaches ? [n.label, ...n.children.flatMap(onPath)] : []);

describe('check path', () => {
  test('a user reached through a computed relation and a group: every node on the way is marked', async () => {
    const e = expander();
    const path = await checkPath('user:bob', 'document:plan', 'viewer', e);
    assert.equal(path.reaches, true);
    assert.deepEqual(onPath(path), [
      'document:plan#viewer: any of (union)',
      'document:plan#viewer: computed from document:plan#editor',
      'document:plan#editor',
      'document:plan#editor: direct tuples',
      'group:eng#member',
      'group:eng#member: direct tuples',
      'user:bob',
    ]);
  });

  test('a user not reached: nothing marked, and the group’s own member userset is not walked twice', async () => {
    const e = expander();
    const path = await checkPath('user:dan', 'document:plan', 'viewer', e);
    assert.equal(path.reaches, false);
    assert.deepEqual(onPath(path), []);
    assert.deepEqual(e.calls, ['document:plan#viewer', 'document:plan#editor', 'group:eng#member']);
  });

  test('a wildcard reaches any user of its type, and a difference takes the subtracted out', async () => {
    assert.equal((await checkPath('user:ann', 'folder:a', 'viewer', expander())).reaches, true);
    assert.equal((await checkPath('user:eve', 'folder:a', 'viewer', expander())).reaches, false);
  });

  test('the number of expands is bounded', async () => {
    const e = expander();
    const path = await checkPath('user:bob', 'document:plan', 'viewer', { ...e, maxExpands: 1 });
    assert.equal(path.reaches, false);
    assert.equal(e.calls.length, 2, 'the root and one more');
    const text = JSON.stringify(path);
    assert.match(text, /"notFollowed":"limit"/);
  });
});
