import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  echoed,
  type Harness,
  type Keys,
  makeKeys,
  mintToken,
  nowSec,
  publicJwk,
  send,
  startEcho,
  startGateway,
  startJwks,
  type Upstream,
} from './harness.ts';

// RFC 9470 step-up: a route that needs a second factor or a recent sign-in refuses a token whose
// sign-in falls short with a challenge naming what would do, and lets the stronger token through.
const MFA = 'urn:gatehouse:acr:mfa';
const PWD = 'urn:gatehouse:acr:pwd';

let upstream: Upstream;
let gw: Harness;
let keys: Keys;
let jwks: Awaited<ReturnType<typeof startJwks>>;

const bearer = (token: string): [string, string][] => [['Authorization', `Bearer ${token}`]];

before(async () => {
  upstream = await startEcho();
  keys = await makeKeys('key-1');
  jwks = await startJwks([await publicJwk(keys)]);
  gw = await startGateway(
    {
      routes: [
        { id: 'payments', match: { path: '/payments' }, upstreams: [upstream.url], stepUp: { acr: [MFA] } },
        {
          id: 'settings',
          match: { path: '/settings' },
          upstreams: [upstream.url],
          policy: { roles: ['user'] },
          stepUp: { acr: [MFA], maxAge: 300 },
        },
        { id: 'echo', match: { path: '/echo' }, upstreams: [upstream.url] },
      ],
    },
    { keys, jwksUri: jwks.url },
  );
});

after(async () => {
  await gw.close();
  await upstream.close();
  await jwks.close();
});

describe('step-up at the gateway (RFC 9470)', () => {
  test('a password-only token: 401 GW_STEP_UP_REQUIRED, insufficient_user_authentication with acr_values', async () => {
    const token = await mintToken(keys, { acr: PWD, amr: ['pwd'], auth_time: nowSec() });
    const before = upstream.received.length;
    const a = await send(gw.url, '/payments', { headers: bearer(token) });
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'GW_STEP_UP_REQUIRED');
    assert.equal(
      a.headers['www-authenticate'],
      `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="A stronger sign-in is required for this resource", acr_values="${MFA}"`,
    );
    assert.equal(upstream.received.length, before, 'the upstream was not reached');
  });

  test('the same person after a second factor (acr mfa): 200, the upstream reached', async () => {
    const token = await mintToken(keys, { acr: MFA, amr: ['pwd', 'otp', 'mfa'], auth_time: nowSec() });
    const a = await send(gw.url, '/payments', { headers: bearer(token) });
    assert.equal(echoed(a).url, '/payments');
  });

  test('a token without acr at all, or a forged acr type, is refused like a weak one', async () => {
    for (const claims of [{}, { acr: [MFA] }, { acr: `${MFA} ` }]) {
      const a = await send(gw.url, '/payments', { headers: bearer(await mintToken(keys, claims)) });
      assert.equal(a.status, 401, JSON.stringify(claims));
      assert.equal(a.json().error, 'GW_STEP_UP_REQUIRED');
    }
  });

  test('a service token (client credentials) never passes step-up', async () => {
    const token = await mintToken(keys, {
      sub: 'orders',
      client_id: 'orders',
      sid: undefined,
      username: undefined,
      acr: MFA,
      auth_time: nowSec(),
    });
    const a = await send(gw.url, '/payments', { headers: bearer(token) });
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'GW_STEP_UP_REQUIRED');
  });

  test('maxAge: an MFA sign-in older than the limit gets 401 with max_age; a recent one passes', async () => {
    const old = await mintToken(keys, { acr: MFA, amr: ['pwd', 'otp', 'mfa'], auth_time: nowSec() - 301 });
    const a = await send(gw.url, '/settings', { headers: bearer(old) });
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'GW_STEP_UP_REQUIRED');
    assert.equal(
      a.headers['www-authenticate'],
      `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="A more recent sign-in is required for this resource", acr_values="${MFA}", max_age=300`,
    );
    const recent = await mintToken(keys, { acr: MFA, amr: ['pwd', 'otp', 'mfa'], auth_time: nowSec() - 10 });
    assert.equal(echoed(await send(gw.url, '/settings', { headers: bearer(recent) })).url, '/settings');
  });

  test('no token on a step-up route: the plain 401 SDK_TOKEN_MISSING', async () => {
    const a = await send(gw.url, '/payments');
    assert.equal(a.status, 401);
    assert.equal(a.json().error, 'SDK_TOKEN_MISSING');
  });

  test('routes without stepUp are unchanged for a password-only token', async () => {
    const token = await mintToken(keys, { acr: PWD, amr: ['pwd'] });
    assert.equal(echoed(await send(gw.url, '/echo', { headers: bearer(token) })).url, '/echo');
  });
});
