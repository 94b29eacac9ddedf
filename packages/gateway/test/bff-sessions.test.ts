import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState, silentLogger } from '@gatehouse/core';
import { createSealer } from '../src/bff/bff-seal.ts';
import { type BffTokens, createBffSessions } from '../src/bff/bff-sessions.ts';
import { gatewayErrors } from '../src/errors.ts';

const SECRET = 'a-session-secret-of-at-least-32-characters!';
const nowSec = () => Math.floor(Date.now() / 1000);
const keyOf = (id: string) => `gatehouse:bff:session:${createHash('sha256').update(id).digest('base64url')}`;

let state: SharedState;
before(async () => {
  state = await openState({ driver: 'memory' });
});
after(() => state.close());

function sessions(refresh: (rt: string) => Promise<BffTokens>, refreshBeforeSec = 60) {
  return createBffSessions({
    state,
    sealer: createSealer(SECRET),
    logger: silentLogger(),
    ttlSec: 3600,
    refreshBeforeSec,
    refresh,
  });
}

const neverRefresh = async (): Promise<BffTokens> => {
  throw new Error('no refresh expected');
};

describe('the sealed token store', () => {
  test('the state store holds neither the tokens nor the session id in clear', async () => {
    const s = sessions(neverRefresh);
    const id = await s.create({
      accessToken: 'access-token-value',
      refreshToken: 'refresh-token-value',
      idToken: 'id-token-value',
      expiresAt: nowSec() + 600,
    });
    const stored = await state.get(keyOf(id));
    assert.ok(stored?.startsWith('v1.'));
    for (const secret of ['access-token-value', 'refresh-token-value', 'id-token-value', id]) {
      assert.equal(stored!.includes(secret), false);
      assert.equal(Buffer.from(stored!.slice(3), 'base64url').includes(secret), false);
    }
    assert.equal(await s.accessToken(id), 'access-token-value');
  });

  test('a sealed value opens only under the key it was sealed for', () => {
    const sealer = createSealer(SECRET);
    const sealed = sealer.seal('payload', 'key-a');
    assert.equal(sealer.open(sealed, 'key-a'), 'payload');
    assert.equal(sealer.open(sealed, 'key-b'), undefined);
    assert.equal(createSealer(`${SECRET}-other`).open(sealed, 'key-a'), undefined);
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[raw.length - 1]! ^= 1;
    assert.equal(sealer.open(`v1.${raw.toString('base64url')}`, 'key-a'), undefined);
  });

  test('a session moved under another id does not open', async () => {
    const s = sessions(neverRefresh);
    const a = await s.create({ accessToken: 'token-a', expiresAt: nowSec() + 600 });
    const b = await s.create({ accessToken: 'token-b', expiresAt: nowSec() + 600 });
    await state.set(keyOf(b), (await state.get(keyOf(a)))!);
    assert.equal(await s.accessToken(b), undefined);
  });

  test('a malformed session id is no session', async () => {
    const s = sessions(neverRefresh);
    assert.equal(await s.accessToken('../../etc'), undefined);
    assert.equal(await s.end('x'), undefined);
  });
});

describe('refreshing the access token', () => {
  test('concurrent uses near expiry make exactly one refresh', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const s = sessions(async (rt) => {
      calls++;
      assert.equal(rt, 'rt-1');
      await gate;
      return { accessToken: 'at-2', refreshToken: 'rt-2', expiresAt: nowSec() + 600 };
    });
    const id = await s.create({ accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: nowSec() + 10 });
    const pending = Promise.all([s.accessToken(id), s.accessToken(id), s.accessToken(id)]);
    release();
    assert.deepEqual(await pending, ['at-2', 'at-2', 'at-2']);
    assert.equal(calls, 1);
    assert.equal(await s.accessToken(id), 'at-2');
  });

  test('a refused refresh ends the session', async () => {
    const s = sessions(async () => {
      throw gatewayErrors.create('GW_BFF_SESSION_EXPIRED');
    });
    const id = await s.create({ accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: nowSec() + 10 });
    await assert.rejects(s.accessToken(id), { code: 'GW_BFF_SESSION_EXPIRED' });
    assert.equal(await s.accessToken(id), undefined);
  });

  test('while the identity provider is away, a still-valid token keeps working', async () => {
    const s = sessions(async () => {
      throw gatewayErrors.create('GW_BFF_IDP_UNAVAILABLE');
    });
    const id = await s.create({ accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: nowSec() + 10 });
    assert.equal(await s.accessToken(id), 'at-1');
  });

  test('with the identity provider away and the token expired, the answer is 502', async () => {
    const s = sessions(async () => {
      throw gatewayErrors.create('GW_BFF_IDP_UNAVAILABLE');
    });
    const id = await s.create({ accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: nowSec() - 5 });
    await assert.rejects(s.accessToken(id), { code: 'GW_BFF_IDP_UNAVAILABLE', status: 502 });
  });

  test('a token far from expiry is used as it is', async () => {
    const s = sessions(neverRefresh);
    const id = await s.create({ accessToken: 'at-1', refreshToken: 'rt-1', expiresAt: nowSec() + 600 });
    assert.equal(await s.accessToken(id), 'at-1');
  });
});
