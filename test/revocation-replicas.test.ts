/**
 * Revocation that cannot be missed: one identity provider and gateway replicas sharing Redis (each
 * process reaches Redis through its own cuttable TCP relay) and PostgreSQL.
 *
 * - A replica whose Redis connections are cut misses the pub/sub message of a logout; once its
 *   subscription is back it catches up from the identity provider's revocation feed and refuses the
 *   session within a second (its catch-up poll is set to a minute, so the reconnect is what finds it).
 * - A replica that never hears a message (its subscription is on another channel) finds the
 *   revocation with its catch-up poll.
 * - A logout made while Redis is unreachable is answered only once PostgreSQL has it, and is enforced
 *   by both replicas after Redis returns and by a replica started afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openState, type SharedState, silentLogger } from '@gatehouse/core';
import {
  type CuttableRelay,
  deleteRedisKeys,
  redisTestUrl,
  skipUnlessService,
  startCuttableRelay,
  uniqueSchemaName,
  waitFor,
} from '@gatehouse/core/testing';
import { createGateway, type Gateway } from '@gatehouse/gateway';
import { Replica } from '../packages/gateway/test/upstream-fixtures.ts';
import {
  type AccountsIdp,
  sessionCookieOf,
  startAccountsIdp,
} from '../packages/idp/test/accounts-harness.ts';

describe('revocations reach every gateway replica, whatever happened to pub/sub', {
  skip: (await skipUnlessService('redis')) || (await skipUnlessService('postgres')),
  timeout: 60_000,
}, () => {
  const keyPrefix = `${uniqueSchemaName()}:`;
  const service = new Replica('echo');
  const relays: CuttableRelay[] = [];
  const states: SharedState[] = [];
  const gateways: Gateway[] = [];
  let t: AccountsIdp;
  let idpRelay: CuttableRelay;

  async function relayedState(): Promise<{ relay: CuttableRelay; state: SharedState }> {
    const relay = await startCuttableRelay(redisTestUrl());
    relays.push(relay);
    const state = await openState({ driver: 'redis', url: relay.url, keyPrefix });
    states.push(state);
    return { relay, state };
  }

  /** A gateway replica in front of the echo service, reading the idp's revocation feed. */
  async function startGateway(state: SharedState, pollIntervalMs = 60_000): Promise<string> {
    const gw = await createGateway({
      config: {
        auth: {
          issuer: `${t.origin}/auth`,
          audiences: [t.origin],
          jwksUri: `${t.origin}/auth/jwks`,
          // A minute: within these tests a missed revocation is found by the reconnect or at start-up.
          revocationFeed: { url: `${t.origin}/_gatehouse/revocations`, pollIntervalMs },
        },
        routes: [{ id: 'echo', match: { path: '/echo' }, upstreams: [service.url], policy: 'authenticated' }],
      },
      state,
      logger: silentLogger(),
      publicUrl: t.origin,
    });
    gateways.push(gw);
    const addr = await gw.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${addr.port}/echo`;
  }

  async function login(username: string, password: string): Promise<string> {
    const res = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    assert.equal(res.status, 200);
    return sessionCookieOf(res)!;
  }

  async function logout(session: string): Promise<Response> {
    return fetch(`${t.origin}/authentication/logout`, {
      method: 'POST',
      headers: { cookie: `gatehouse_session=${session}`, origin: t.origin },
    });
  }

  async function statusAt(url: string, session: string): Promise<{ status: number; error?: string }> {
    const res = await fetch(url, { headers: { cookie: `gatehouse_session=${session}` } });
    const body = (await res.json()) as { error?: string };
    return { status: res.status, ...(body.error ? { error: body.error } : {}) };
  }

  before(async () => {
    await service.start();
    const idpSide = await relayedState();
    idpRelay = idpSide.relay;
    t = await startAccountsIdp({
      db: 'postgres',
      state: idpSide.state,
      accounts: { bruteForce: { enabled: false } },
    });
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await t?.close();
    for (const s of states) await s.close().catch(() => {});
    for (const r of relays) await r.close();
    await service.kill();
    await deleteRedisKeys(`${keyPrefix}*`);
  });

  test('a replica whose subscription was cut refuses a session logged out meanwhile within a second of the restore', async () => {
    const a = await relayedState();
    const b = await relayedState();
    const urlA = await startGateway(a.state);
    const urlB = await startGateway(b.state);
    const session = await login('alice', 'alice-password');
    // Verified and cached on both replicas.
    assert.deepEqual(await statusAt(urlA, session), { status: 200 });
    assert.deepEqual(await statusAt(urlB, session), { status: 200 });

    a.relay.cut();
    assert.equal((await logout(session)).status, 204);
    // Replica B heard the message; replica A, cut off, did not, and still has the session cached.
    await waitFor(async () => (await statusAt(urlB, session)).status === 401, { what: 'B refuses' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(await statusAt(urlA, session), { status: 200 }, 'A missed the message while cut off');

    a.relay.restore();
    const restored = Date.now();
    await waitFor(async () => (await statusAt(urlA, session)).status === 401, {
      what: 'A refuses after the restore',
      timeoutMs: 1000,
      intervalMs: 20,
    });
    assert.ok(Date.now() - restored < 1000);
    assert.deepEqual(await statusAt(urlA, session), { status: 401, error: 'SDK_TOKEN_REVOKED' });
  });

  test('a logout made while Redis is unreachable is stored first and enforced by every replica, old and new', async () => {
    const a = await relayedState();
    const b = await relayedState();
    const urlA = await startGateway(a.state);
    const urlB = await startGateway(b.state);
    const session = await login('bob', 'bob-password');
    assert.deepEqual(await statusAt(urlA, session), { status: 200 });
    assert.deepEqual(await statusAt(urlB, session), { status: 200 });

    for (const r of [idpRelay, a.relay, b.relay]) r.cut();
    const answered = await logout(session);
    assert.equal(answered.status, 204);
    // Answered only once PostgreSQL holds it.
    const { sid } = JSON.parse(Buffer.from(session.split('.')[1]!, 'base64url').toString()) as {
      sid: string;
    };
    const rows = await t.sql.query(`select seq from idp_revocations where kind = 'sid' and value = $1`, [
      sid,
    ]);
    assert.equal(rows.length, 1);

    for (const r of [idpRelay, a.relay, b.relay]) r.restore();
    const restored = Date.now();
    await waitFor(
      async () =>
        (await statusAt(urlA, session)).status === 401 && (await statusAt(urlB, session)).status === 401,
      { what: 'both replicas refuse', timeoutMs: 3000, intervalMs: 20 },
    );
    assert.ok(Date.now() - restored < 3000);
    assert.deepEqual(await statusAt(urlA, session), { status: 401, error: 'SDK_TOKEN_REVOKED' });
    assert.deepEqual(await statusAt(urlB, session), { status: 401, error: 'SDK_TOKEN_REVOKED' });

    // A replica started now never saw a message nor a state key for it: the feed alone tells it.
    const c = await relayedState();
    const urlC = await startGateway(c.state);
    assert.deepEqual(await statusAt(urlC, session), { status: 401, error: 'SDK_TOKEN_REVOKED' });
    // Its other sessions still work.
    assert.deepEqual(await statusAt(urlC, await login('bob', 'bob-password')), { status: 200 });
  });

  test('a replica that never hears the message finds the revocation with its catch-up poll', async () => {
    // Another key prefix: another channel, so no message of this identity provider reaches it.
    const deaf = await openState({ driver: 'redis', url: redisTestUrl(), keyPrefix: `${keyPrefix}deaf:` });
    states.push(deaf);
    const url = await startGateway(deaf, 200);
    const session = await login('alice', 'alice-password');
    assert.deepEqual(await statusAt(url, session), { status: 200 });
    assert.equal((await logout(session)).status, 204);
    const loggedOut = Date.now();
    await waitFor(async () => (await statusAt(url, session)).status === 401, {
      what: 'the poll finds it',
      timeoutMs: 2000,
      intervalMs: 20,
    });
    assert.ok(Date.now() - loggedOut < 2000);
    assert.deepEqual(await statusAt(url, session), { status: 401, error: 'SDK_TOKEN_REVOKED' });
  });
});
