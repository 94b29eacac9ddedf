import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import Keygrip from 'keygrip';
import { cookieKeygrip } from '../src/keys/cookie-keygrip.ts';

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

test('a signature it made before verifies as before; remembered ones are forgotten past the bound', () => {
  const ours = cookieKeygrip(keys);
  const reference = new Keygrip(keys);
  const signed = ours.sign('_interaction=abc');
  assert.equal(ours.sign('_interaction=abc'), signed);
  assert.equal(ours.index('_interaction=abc', signed), 0);
  assert.equal(
    ours.index('_interaction=abc', `${signed.slice(0, -1)}${signed.endsWith('A') ? 'B' : 'A'}`),
    -1,
  );
  // The same data signed by the second key still verifies with its index, past the remembered one.
  assert.equal(ours.index('_interaction=abc', new Keygrip([keys[1]!]).sign('_interaction=abc')), 1);
  for (let i = 0; i < 5000; i++) ours.sign(`_session=${i}`);
  assert.equal(ours.sign('_interaction=abc'), reference.sign('_interaction=abc'));
  assert.equal(ours.index('_session=1', reference.sign('_session=1')), 0);
  assert.equal(ours.index('_session=4999', reference.sign('_session=4999')), 0);
  assert.equal(ours.index('_session=4999', reference.sign('_session=4998')), -1);
});
