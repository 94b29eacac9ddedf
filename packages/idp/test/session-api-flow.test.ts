import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { skipUnlessService } from '@gatehouse/core/testing';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createIdp } from '../src/index.ts';
import { createSessionApi } from '../src/session-api/session-api.ts';
import { type AccountsIdp, sessionCookieOf, startAccountsIdp } from './accounts-harness.ts';

const json = { 'content-type': 'application/json' };

for (const db of ['pglite', 'postgres'] as const)
  describe(`first-party session API [${db}]`, { skip: await skipUnlessService(db) }, () => {
    let t: AccountsIdp;
    before(async () => {
      t = await startAccountsIdp({ db, accounts: { bruteForce: { enabled: false } } });
    });
    after(() => t?.close());

    const post = (path: string, body: unknown, headers: Record<string, string> = json) =>
      fetch(`${t.origin}${path}`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });

    test('login with JSON sets an HttpOnly SameSite=Lax session cookie and answers the account', async () => {
      const res = await post('/authentication/login', { username: 'alice', password: 'alice-password' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const body = (await res.json()) as { id: string; username: string; roles: string[] };
      assert.equal(body.username, 'alice');
      assert.deepEqual(body.roles, ['admin', 'user']);
      const [line] = res.headers.getSetCookie();
      assert.match(line!, /^gatehouse_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
      assert.doesNotMatch(line!, /Secure/);
    });

    test('the session cookie is a gh-session+jwt signed with the idp key, with the contract claims', async () => {
      const res = await post('/authentication/login', { username: 'bob', password: 'bob-password' });
      const token = sessionCookieOf(res)!;
      const header = decodeProtectedHeader(token);
      assert.equal(header.typ, 'gh-session+jwt');
      assert.equal(header.alg, 'ES256');
      assert.equal(header.kid, t.idp.keys.current().active.kid);
      const claims = decodeJwt(token);
      assert.equal(claims.iss, `${t.origin}/auth`);
      assert.equal(claims.aud, 'gatehouse-session');
      assert.equal(claims['username'], 'bob');
      assert.deepEqual(claims['roles'], ['user']);
      // How the sign-in went, as an ID token says it (RFC 8176): a password alone.
      assert.deepEqual(claims['amr'], ['pwd']);
      assert.equal(claims['acr'], 'urn:gatehouse:acr:pwd');
      for (const c of ['sub', 'sid', 'jti', 'iat', 'exp']) assert.ok(claims[c], `claim ${c}`);
    });

    test('login with a form post from the same origin works', async () => {
      const res = await post('/authentication/login', 'username=bob&password=bob-password', {
        'content-type': 'application/x-www-form-urlencoded',
        origin: t.origin,
      });
      assert.equal(res.status, 200);
      assert.ok(sessionCookieOf(res));
    });

    test('the cookie is Secure when the request came over HTTPS through a trusted proxy', async () => {
      const res = await post(
        '/authentication/login',
        { username: 'bob', password: 'bob-password' },
        {
          ...json,
          'x-forwarded-proto': 'https',
        },
      );
      assert.equal(res.status, 200);
      assert.match(res.headers.getSetCookie()[0]!, /; Secure$/);
    });

    test('whoami answers id, username and roles of the session', async () => {
      const login = await post('/authentication/login', { username: 'alice', password: 'alice-password' });
      const me = (await login.json()) as { id: string };
      const res = await fetch(`${t.origin}/authentication/whoami`, {
        headers: { cookie: `gatehouse_session=${sessionCookieOf(login)}` },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { id: me.id, username: 'alice', roles: ['admin', 'user'] });
    });

    test('whoami without a cookie or with a forged one is 401 IDP_UNAUTHENTICATED', async () => {
      for (const cookie of [undefined, 'gatehouse_session=abc.def.ghi']) {
        const res = await fetch(`${t.origin}/authentication/whoami`, cookie ? { headers: { cookie } } : {});
        assert.equal(res.status, 401);
        assert.equal(((await res.json()) as { error: string }).error, 'IDP_UNAUTHENTICATED');
      }
    });

    test('logout ends the session, clears the cookie, revokes the sid in state and SQL, and is audited', async () => {
      const login = await post('/authentication/login', { username: 'bob', password: 'bob-password' });
      const token = sessionCookieOf(login)!;
      const sid = decodeJwt(token)['sid'] as string;
      const messages: string[] = [];
      const unsubscribe = await t.state.subscribe('gatehouse.revocations', (m) => messages.push(m));
      const res = await post('/authentication/logout', '', { cookie: `gatehouse_session=${token}`, ...json });
      assert.equal(res.status, 204);
      assert.match(
        res.headers.getSetCookie()[0]!,
        /^gatehouse_session=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0$/,
      );
      assert.equal(await t.state.get(`gatehouse:revoked:sid:${sid}`), '1');
      assert.equal(await t.idp.revocations.isRevoked('sid', sid), true);
      const deadline = Date.now() + 10_000;
      while (messages.length === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      await unsubscribe();
      const message = JSON.parse(messages[0]!) as { kind: string; value: string; expiresAt: number };
      assert.equal(message.kind, 'sid');
      assert.equal(message.value, sid);
      assert.equal(message.expiresAt, decodeJwt(token).exp);
      const again = await fetch(`${t.origin}/authentication/whoami`, {
        headers: { cookie: `gatehouse_session=${token}` },
      });
      assert.equal(again.status, 401);
      const events = await t.accounts.audit.query({ type: 'logout' });
      assert.equal(events[0]?.details['sid'], sid);
    });

    test('logout without a session is 401 and still clears the cookie', async () => {
      const res = await post('/authentication/logout', '{}');
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: string }).error, 'IDP_UNAUTHENTICATED');
      assert.match(res.headers.getSetCookie()[0]!, /Max-Age=0/);
    });

    test('a session is stored in SQL under its sid', async () => {
      const login = await post('/authentication/login', { username: 'alice', password: 'alice-password' });
      const sid = decodeJwt(sessionCookieOf(login)!)['sid'];
      const rows = await t.sql.query<{ id: string }>('select id from idp_sessions where id = $1', [sid]);
      assert.equal(rows.length, 1);
    });

    test('a session survives a restart: a new idp process on the same storage accepts the cookie', async () => {
      const login = await post('/authentication/login', { username: 'alice', password: 'alice-password' });
      const cookie = `gatehouse_session=${sessionCookieOf(login)}`;
      const second = await createIdp({
        config: t.idp.runtime.config,
        sql: t.sql,
        state: t.state,
        logger: silentLogger(),
        publicUrl: t.origin,
        accounts: t.accounts,
        autoload: false,
        sessionApi: createSessionApi,
      });
      const server = createServer(second.handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const res = await fetch(
          `http://127.0.0.1:${(server.address() as AddressInfo).port}/authentication/whoami`,
          {
            headers: { cookie },
          },
        );
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { username: string }).username, 'alice');
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await second.close();
      }
    });

    test('registration creates an account with the default role that can then log in', async () => {
      const res = await post('/authentication/registration', {
        username: 'shopper',
        password: 'a quiet evening walk',
        email: 'shopper@example.com',
      });
      assert.equal(res.status, 201);
      const body = (await res.json()) as { id: string; username: string; roles: string[] };
      assert.equal(body.username, 'shopper');
      assert.deepEqual(body.roles, ['user']);
      const login = await post('/authentication/login', {
        username: 'shopper',
        password: 'a quiet evening walk',
      });
      assert.equal(login.status, 200);
    });

    test('registration of a taken name is 409 IDP_USERNAME_TAKEN', async () => {
      const res = await post('/authentication/registration', {
        username: 'Alice',
        password: 'a quiet evening walk',
      });
      assert.equal(res.status, 409);
      assert.equal(((await res.json()) as { error: string }).error, 'IDP_USERNAME_TAKEN');
    });

    test('wrong method is 405 with Allow, unknown path is 404', async () => {
      const res = await fetch(`${t.origin}/authentication/login`);
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'POST');
      assert.equal(((await res.json()) as { error: string }).error, 'GH_METHOD_NOT_ALLOWED');
      const missing = await fetch(`${t.origin}/authentication/nothing`);
      assert.equal(missing.status, 404);
    });
  });
