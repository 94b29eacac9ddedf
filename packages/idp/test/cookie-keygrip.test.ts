import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import Keygrip from 'keygrip';
import { cookieKeygrip } from '../src/cookie-keygrip.ts';

const keys = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')];

test('signatures are the ones keygrip makes, byte for byte', () => {
  const ours = cookieKeygrip(keys);
  const reference = new Keygrip(keys);
  for (const data of [
    '_session=abc',
    '_interaction=x.y-z',
    `a=${randomBytes(40).toString('base64')}`,
    'é=ü',
  ]) {
    assert.equal(ours.sign(data), reference.sign(data));
  }
});

test('any key verifies (its index), the first key signs; a wrong or tampered signature is -1', () => {
  const ours = cookieKeygrip(keys);
  const data = '_session=abc';
  assert.equal(ours.index(data, new Keygrip([keys[0]!]).sign(data)), 0);
  assert.equal(ours.index(data, new Keygrip([keys[1]!]).sign(data)), 1);
  assert.equal(ours.verify(data, new Keygrip([keys[1]!]).sign(data)), true);
  const good = ours.sign(data);
  assert.equal(ours.index(data, `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`), -1);
  assert.equal(ours.index(data, good.slice(1)), -1);
  assert.equal(ours.index(data, ''), -1);
  assert.equal(ours.index('_session=abd', good), -1);
  assert.equal(ours.verify(data, new Keygrip([randomBytes(32).toString('base64url')]).sign(data)), false);
});

test('no key is refused', () => {
  assert.throws(() => cookieKeygrip([]));
});
