import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SdkError } from '../src/errors.ts';
import { parseJsonObject } from '../src/strict-json.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

function codeOf(text: string): string {
  try {
    parseJsonObject(utf8(text), 'claims set');
    return 'accepted';
  } catch (err) {
    assert.ok(err instanceof SdkError);
    return err.code;
  }
}

/** `key` as a JSON string whose first code unit is written as a \u escape: the same name, spelled differently. */
function escapedName(key: string): string {
  const units = key
    .split('')
    .map((c, i) =>
      i === 0 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(c).slice(1, -1),
    );
  return `"${units.join('')}"`;
}

/** How many objects in `value` (itself included) have at least one member. */
function objectsWithMembers(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + objectsWithMembers(v), 0);
  if (value === null || typeof value !== 'object') return 0;
  const inner = Object.values(value).reduce((n: number, v) => n + objectsWithMembers(v), 0);
  return inner + (Object.keys(value).length > 0 ? 1 : 0);
}

/**
 * `value` as JSON text, with one more member in its `target`-th object that has members
 * (depth-first), repeating that object's first name, written plainly or escaped.
 */
function writeWithRepeat(value: unknown, target: number, escaped: boolean): string {
  let seen = 0;
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
    if (v !== null && typeof v === 'object') {
      const first = Object.keys(v)[0];
      const index = first === undefined ? -1 : seen++;
      const members = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`);
      if (index === target && first !== undefined) {
        members.push(`${escaped ? escapedName(first) : JSON.stringify(first)}:null`);
      }
      return `{${members.join(',')}}`;
    }
    return JSON.stringify(v);
  };
  return write(value);
}

describe('strict JSON: objects without repeated member names', () => {
  test('any JSON object written by JSON.stringify is read back as JSON.parse reads it', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
        const text = JSON.stringify(object);
        assert.deepEqual(parseJsonObject(utf8(text), 'claims set'), JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  test('a repeated name in any object at any depth, plain or escaped, is refused', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }),
        fc.nat(20),
        fc.boolean(),
        (object, target, escaped) => {
          const text = writeWithRepeat(object, target % objectsWithMembers(object), escaped);
          assert.equal(codeOf(text), 'SDK_DUPLICATE_MEMBER', text);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('names and strings holding ":", quotes and backslashes are counted right', () => {
    assert.equal(codeOf('{"a:b":"c:d","e":"\\":\\\\","f\\"":{"g":[":",{"h":1}]}}'), 'accepted');
    assert.equal(codeOf('{"a:b":1,"a:b":2}'), 'SDK_DUPLICATE_MEMBER');
    assert.equal(codeOf('{"\\\\":1,"\\u005c":2}'), 'SDK_DUPLICATE_MEMBER');
    assert.equal(codeOf('{"a":{"b":1},"c":{"b":1}}'), 'accepted');
    assert.equal(codeOf('{"a":{"b":1,"b":{"c":1}}}'), 'SDK_DUPLICATE_MEMBER');
    assert.equal(codeOf('{"__proto__":1,"__proto__":2}'), 'SDK_DUPLICATE_MEMBER');
    assert.equal(codeOf('{"__proto__":{"x":1}}'), 'accepted');
  });

  test('what is not one UTF-8 JSON object is malformed', () => {
    for (const text of ['', '[]', '"x"', '1', 'null', '{', '{"a":1}x', '\ufeff{}', "{'a':1}"]) {
      assert.equal(codeOf(text), 'SDK_TOKEN_MALFORMED', JSON.stringify(text));
    }
    assert.throws(
      () => parseJsonObject(new Uint8Array([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d]), 'header'),
      { code: 'SDK_TOKEN_MALFORMED' },
    );
  });
});
