import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import { login, type Stack, serviceToken, startStack } from '../../shared/test/shop-harness.ts';
import { DEV_SERVICE_A_CLIENT_SECRET } from '../src/identities.ts';
import { createServiceToServiceExample, SERVICE_A_CLIENT_ID, SERVICE_B_AUDIENCE } from '../src/index.ts';

interface CallB {
  serviceB: { message: string; caller: string; tokenExpiresAt: string };
}

describe('service to service: A calls B with a cached token, B verifies it locally', () => {
  let s: Stack;
  let aUrl: string;
  let bUrl: string;
  const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error;
  /** A client-credentials token for Service B's audience, or (null) for the default audience. */
  const tokenForB = (clientId: string, secret: string, resource: string | null = SERVICE_B_AUDIENCE) =>
    serviceToken(s.ctx.tokenEndpoint, clientId, secret, resource ? { resource } : {});

  before(async () => {
    // 30 s, the shortest access-token lifetime the identity provider allows.
    s = await startStack(createServiceToServiceExample(), { idp: { accessTokenTtlSeconds: 30 } });
    aUrl = s.handle.services.find((x) => x.name === 's2s-service-a')!.url;
    bUrl = s.handle.services.find((x) => x.name === 's2s-service-b')!.url;
  });
  after(async () => {
    mock.timers.reset();
    await s?.close();
  });

  test('a signed-in caller reaches Service A through the gateway, and A reaches B with its own token', async () => {
    const bob = await login(s.publicUrl, 'bob', 'bob-password');
    const res = await fetch(`${s.publicUrl}/s2s/call-b`, { headers: { cookie: `gatehouse_session=${bob}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as CallB;
    assert.equal(body.serviceB.message, 'Hello from Service B');
    assert.equal(body.serviceB.caller, SERVICE_A_CLIENT_ID);
  });

  test('an anonymous caller is refused by the gateway with 401', async () => {
    const res = await fetch(`${s.publicUrl}/s2s/call-b`);
    assert.equal(res.status, 401);
    assert.equal(await errorOf(res), 'SDK_TOKEN_MISSING');
  });

  test('Service B refuses a call without a token with 401 and a Bearer challenge', async () => {
    const res = await fetch(`${bUrl}/hello`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    assert.equal(await errorOf(res), 'SDK_TOKEN_MISSING');
  });

  test("Service B refuses Service A's token for another audience with 401 SDK_AUDIENCE_INVALID", async () => {
    const token = await tokenForB(SERVICE_A_CLIENT_ID, DEV_SERVICE_A_CLIENT_SECRET, null);
    const res = await fetch(`${bUrl}/hello`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.equal(await errorOf(res), 'SDK_AUDIENCE_INVALID');
  });

  test("Service B refuses another service's token for its audience with 403 S2S_CALLER_NOT_ALLOWED", async () => {
    const token = await tokenForB('demo-service', 'demo-service-secret');
    const res = await fetch(`${bUrl}/hello`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 403);
    assert.equal(await errorOf(res), 'S2S_CALLER_NOT_ALLOWED');
  });

  test('with the identity provider stopped, Service B still verifies a token it has never seen', async () => {
    assert.equal((await fetch(`${aUrl}/s2s/call-b`)).status, 200); // B has fetched the keys once
    const fresh = await tokenForB(SERVICE_A_CLIENT_ID, DEV_SERVICE_A_CLIENT_SECRET);
    await s.stopIdp();
    try {
      await assert.rejects(fetch(s.ctx.jwksUri)); // the keys cannot be fetched now
      const res = await fetch(`${bUrl}/hello`, { headers: { authorization: `Bearer ${fresh}` } });
      assert.equal(res.status, 200);
    } finally {
      await s.startIdp();
    }
  });

  test('with the identity provider stopped, A keeps calling B until its token expires, then fails clearly, then recovers', async () => {
    const first = await fetch(`${aUrl}/s2s/call-b`);
    assert.equal(first.status, 200);
    const firstExpiry = ((await first.json()) as CallB).serviceB.tokenExpiresAt;

    await s.stopIdp();
    const cached = await fetch(`${aUrl}/s2s/call-b`);
    assert.equal(cached.status, 200);
    assert.equal(((await cached.json()) as CallB).serviceB.tokenExpiresAt, firstExpiry);

    // Time is injected: the clock jumps past the cached token's expiry instead of the test waiting.
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    mock.timers.tick(31_000);
    const expired = await fetch(`${aUrl}/s2s/call-b`);
    assert.equal(expired.status, 503);
    assert.deepEqual(await expired.json(), {
      error: 'SDK_TOKEN_ENDPOINT_UNAVAILABLE',
      message: 'The token endpoint cannot be reached and no valid cached token is left',
    });

    await s.startIdp();
    mock.timers.tick(2_500); // past Service A's retry backoff (at most 2 s)
    const recovered = await fetch(`${aUrl}/s2s/call-b`);
    assert.equal(recovered.status, 200);
    const newExpiry = ((await recovered.json()) as CallB).serviceB.tokenExpiresAt;
    assert.ok(Date.parse(newExpiry) > Date.parse(firstExpiry), `${newExpiry} after ${firstExpiry}`);
    mock.timers.reset();
  });
});
