/**
 * Deleted or disabled principals lose their tokens at once: one identity provider and two gateway
 * replicas sharing Redis. Deleting or disabling a client, rotating its secret with revokeTokens=true, and
 * disabling or deleting a user revoke every token and session they hold — refused by both replicas
 * and `active: false` at introspection within a second — and the admin API re-checks its caller.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState, silentLogger } from '@gatehouse/core';
import {
  deleteRedisKeys,
  redisTestUrl,
  skipUnlessService,
  uniqueSchemaName,
  waitFor,
} from '@gatehouse/core/testing';
import { createGateway, type Gateway } from '@gatehouse/gateway';
import { Replica } from '../packages/gateway/test/upstream-fixtures.ts';
import {
  type AccountsIdp,
  accessTokenFor,
  serviceToken,
  sessionCookieOf,
  startAccountsIdp,
} from '../packages/idp/test/accounts-harness.ts';

const form = 'application/x-www-form-urlencoded';

describe('deleted or disabled principals lose their tokens on every replica', {
  skip: await skipUnlessService('redis'),
  timeout: 60_000,
}, () => {
  const keyPrefix = `${uniqueSchemaName()}:`;
  const service = new Replica('echo');
  const states: SharedState[] = [];
  const gateways: Gateway[] = [];
  const urls: string[] = [];
  let t: AccountsIdp;
  let aliceToken: string;

  const openShared = async () => {
    const state = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix });
    states.push(state);
    return state;
  };

  before(async () => {
    await service.start();
    t = await startAccountsIdp({ state: await openShared(), accounts: { bruteForce: { enabled: false } } });
    for (let i = 0; i < 2; i++) {
      const gw = await createGateway({
        config: {
          auth: {
            issuer: `${t.origin}/auth`,
            audiences: [t.origin],
            jwksUri: `${t.origin}/auth/jwks`,
            revocationFeed: { url: `${t.origin}/_gatehouse/revocations` },
          },
          routes: [
            { id: 'echo', match: { path: '/echo' }, upstreams: [service.url], policy: 'authenticated' },
          ],
        },
        state: await openShared(),
        logger: silentLogger(),
        publicUrl: t.origin,
      });
      gateways.push(gw);
      urls.push(`http://127.0.0.1:${(await gw.listen(0, '127.0.0.1')).port}/echo`);
    }
    aliceToken = await accessTokenFor(t, 'alice', 'alice-password');
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await t?.close();
    for (const s of states) await s.close();
    await service.kill();
    await deleteRedisKeys(`${keyPrefix}*`);
  });

  const admin = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${t.origin}/auth/admin${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  /** Both replicas' answers to a bearer token or a session cookie. */
  async function atGateways(credential: { bearer: string } | { session: string }): Promise<number[]> {
    const headers: Record<string, string> =
      'bearer' in credential
        ? { authorization: `Bearer ${credential.bearer}` }
        : { cookie: `gatehouse_session=${credential.session}` };
    return Promise.all(
      urls.map(async (url) => {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        return res.status;
      }),
    );
  }

  async function introspect(token: string): Promise<boolean> {
    const res = await fetch(`${t.origin}/auth/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': form,
        authorization: `Basic ${Buffer.from('demo-service:demo-service-secret').toString('base64')}`,
      },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { active: boolean }).active;
  }

  /** Within a second: 401 on both replicas and inactive at introspection. */
  async function refusedEverywhereWithinASecond(credential: { bearer: string } | { session: string }) {
    const started = Date.now();
    await waitFor(async () => (await atGateways(credential)).every((s) => s === 401), {
      what: 'both replicas refuse',
      timeoutMs: 1000,
      intervalMs: 20,
    });
    if ('bearer' in credential) assert.equal(await introspect(credential.bearer), false);
    assert.ok(Date.now() - started < 1000);
  }

  test('a client deleted through the admin API loses its token at the gateways and at introspection', async () => {
    const token = await serviceToken(t, 'short-lived-service', ['orders']);
    assert.deepEqual(await atGateways({ bearer: token }), [200, 200]);
    assert.equal(await introspect(token), true);

    assert.equal((await admin('DELETE', '/clients/short-lived-service', aliceToken)).status, 204);
    await refusedEverywhereWithinASecond({ bearer: token });
  });

  test('a disabled client loses its token and gets no new one until enabled again', async () => {
    const token = await serviceToken(t, 'paused-service', []);
    assert.deepEqual(await atGateways({ bearer: token }), [200, 200]);
    const grant = () =>
      fetch(`${t.origin}/auth/token`, {
        method: 'POST',
        headers: {
          'content-type': form,
          authorization: `Basic ${Buffer.from('paused-service:paused-service-secret-0123456789').toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });

    const invalid = await admin('PATCH', '/clients/paused-service', aliceToken, { enabled: 'no' });
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as { error: string }).error, 'IDP_FIELD_INVALID');

    const disabled = await admin('PATCH', '/clients/paused-service', aliceToken, { enabled: false });
    assert.equal(disabled.status, 200);
    assert.equal(((await disabled.json()) as { enabled: boolean }).enabled, false);
    await refusedEverywhereWithinASecond({ bearer: token });
    const refused = await grant();
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client');

    assert.equal(
      (await admin('PATCH', '/clients/paused-service', aliceToken, { enabled: true })).status,
      200,
    );
    assert.equal((await grant()).status, 200);
  });

  test('a deleted admin client can no longer create users', async () => {
    const robot = await serviceToken(t, 'ops-robot', ['admin']);
    const create = (username: string) =>
      admin('POST', '/users', robot, { username, password: 'a-long-enough-password-1' });
    assert.equal((await create('made-by-robot')).status, 201);

    assert.equal((await admin('DELETE', '/clients/ops-robot', aliceToken)).status, 204);
    const refused = await create('made-after-deletion');
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: string }).error, 'IDP_UNAUTHENTICATED');
    await refusedEverywhereWithinASecond({ bearer: robot });
  });

  test('an admin client that lost its admin role is refused at once, with its token still valid', async () => {
    const robot = await serviceToken(t, 'demoted-robot', ['admin']);
    assert.equal((await admin('GET', '/users', robot)).status, 200);
    await serviceToken(t, 'demoted-robot', ['reports']); // re-registers it without the role
    const refused = await admin('GET', '/users', robot);
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as { error: string }).error, 'IDP_FORBIDDEN');
  });

  test('rotating a secret revokes the tokens only when asked to', async () => {
    const kept = await serviceToken(t, 'rotating-service', []);
    assert.equal((await admin('POST', '/clients/rotating-service/secret', aliceToken)).status, 200);
    assert.deepEqual(await atGateways({ bearer: kept }), [200, 200]);
    assert.equal(await introspect(kept), true);

    const invalid = await admin('POST', '/clients/rotating-service/secret?revokeTokens=yes', aliceToken);
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as { error: string }).error, 'IDP_FIELD_INVALID');

    assert.equal(
      (await admin('POST', '/clients/rotating-service/secret?revokeTokens=true', aliceToken)).status,
      200,
    );
    await refusedEverywhereWithinASecond({ bearer: kept });
  });

  test('a disabled user loses access and session tokens at once; re-enabled, signs in again', async () => {
    const user = (await (
      await admin('POST', '/users', aliceToken, { username: 'carol', password: 'staple-Horse-battery-91' })
    ).json()) as { id: string };
    const access = await accessTokenFor(t, 'carol', 'staple-Horse-battery-91');
    const login = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'carol', password: 'staple-Horse-battery-91' }),
    });
    const session = sessionCookieOf(login)!;
    assert.deepEqual(await atGateways({ bearer: access }), [200, 200]);
    assert.deepEqual(await atGateways({ session }), [200, 200]);

    assert.equal((await admin('PATCH', `/users/${user.id}`, aliceToken, { enabled: false })).status, 200);
    await refusedEverywhereWithinASecond({ bearer: access });
    await refusedEverywhereWithinASecond({ session });

    assert.equal((await admin('PATCH', `/users/${user.id}`, aliceToken, { enabled: true })).status, 200);
    // Tokens issued from the next second on are not named by the revocation.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const fresh = await accessTokenFor(t, 'carol', 'staple-Horse-battery-91');
    assert.deepEqual(await atGateways({ bearer: fresh }), [200, 200]);
    assert.deepEqual(await atGateways({ bearer: access }), [401, 401]);
  });

  test('a deleted user loses its tokens at once', async () => {
    const user = (await (
      await admin('POST', '/users', aliceToken, { username: 'dave', password: 'quiet-Lantern-river-37' })
    ).json()) as { id: string };
    const access = await accessTokenFor(t, 'dave', 'quiet-Lantern-river-37');
    assert.deepEqual(await atGateways({ bearer: access }), [200, 200]);
    assert.equal((await admin('DELETE', `/users/${user.id}`, aliceToken)).status, 204);
    await refusedEverywhereWithinASecond({ bearer: access });
  });
});
