import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseUsername, usernameKey } from '../src/accounts/username.ts';

function refused(input: string): string | undefined {
  try {
    parseUsername(input);
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('username rule', () => {
  test('plain names are kept as typed, keyed in lower case', () => {
    assert.deepEqual(parseUsername('Alice.Smith'), { display: 'Alice.Smith', key: 'alice.smith' });
  });

  test('full-width and compatibility forms fold under NFKC', () => {
    assert.equal(parseUsername('\uff21\uff4c\uff49\uff43\uff45').key, 'alice');
    assert.equal(usernameKey('ＢＯＢ'), 'bob');
  });

  test('single-script names in other scripts are accepted', () => {
    assert.equal(parseUsername('Дмитрий').key, 'дмитрий');
    assert.equal(parseUsername('さくら').key, 'さくら');
    assert.equal(parseUsername('山田さくら').display, '山田さくら');
    assert.equal(parseUsername('José-María').key, 'josé-maría');
  });

  test('a Latin name with one Cyrillic or Greek letter is refused (mixed scripts)', () => {
    assert.equal(refused('\u0430lice'), 'IDP_USERNAME_INVALID'); // Cyrillic а
    assert.equal(refused('b\u03bfb'), 'IDP_USERNAME_INVALID'); // Greek ο
    assert.equal(refused('pay\u0440al'), 'IDP_USERNAME_INVALID'); // Cyrillic р
  });

  test('a Cyrillic or Greek name made only of Latin look-alikes is refused', () => {
    assert.equal(refused('\u0430\u0441\u0435'), 'IDP_USERNAME_INVALID'); // асе
    assert.equal(refused('\u0420\u041e\u0420'), 'IDP_USERNAME_INVALID'); // РОР
    assert.equal(refused('\u039a\u0391\u03a4\u0395'), 'IDP_USERNAME_INVALID'); // ΚΑΤΕ
  });

  test('confusable Latin letters, invisible characters and combining marks are refused', () => {
    assert.equal(refused('al\u0131ce'), 'IDP_USERNAME_INVALID'); // dotless ı
    assert.equal(refused('\u0251lice'), 'IDP_USERNAME_INVALID'); // Latin alpha ɑ
    assert.equal(refused('ali\u200bce'), 'IDP_USERNAME_INVALID'); // zero-width space
    assert.equal(refused('alice\u0301\u0301'), 'IDP_USERNAME_INVALID'); // stacked combining marks
    assert.equal(refused('alice\u202e'), 'IDP_USERNAME_INVALID'); // right-to-left override
  });

  test('spaces, symbols, non-ASCII digits and bad separators are refused', () => {
    for (const bad of [
      'al ice',
      'alice!',
      'alice@example.com',
      'ali\u0661ce',
      '.alice',
      'alice-',
      'al..ice',
      'al_-ice',
    ]) {
      assert.equal(refused(bad), 'IDP_USERNAME_INVALID', bad);
    }
  });

  test('length is 3 to 32 characters', () => {
    assert.equal(refused('ab'), 'IDP_USERNAME_INVALID');
    assert.equal(refused('a'.repeat(33)), 'IDP_USERNAME_INVALID');
    assert.equal(parseUsername('a'.repeat(32)).key.length, 32);
    assert.equal(refused('a'.repeat(10_000)), 'IDP_USERNAME_INVALID');
  });
});
