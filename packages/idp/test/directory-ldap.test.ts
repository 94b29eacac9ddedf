import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '@gatehouse/core';
import { decodeJwt } from 'jose';
import {
  type AccountsIdp,
  openLoginPage,
  serviceToken,
  startAccountsIdp,
  tokensFor,
} from './accounts-harness.ts';
import {
  BASE_DN,
  group,
  person,
  READER_DN,
  READER_PASSWORD,
  type Slapd,
  slapdSkip,
  startSlapd,
} from './slapd-harness.ts';

// Directory sign-in against a real OpenLDAP slapd started by the test: people in ou=people, groups
// mapped to roles, a locked entry (pwdAccountLockedTime) and one the disabled filter matches.
const skip = slapdSkip();
const json = { 'content-type': 'application/json' };
const DORA_PASSWORD = 'dora-directory-password';
const ODD_UID = 'w*(x)\\y';
const directoryPasswords = [
  DORA_PASSWORD,
  'eve-directory-password',
  'locked-directory-password',
  'inactive-directory-password',
  'gone-directory-password',
  'bob-directory-password',
  'odd-directory-password',
  'newbie-directory-password',
  READER_PASSWORD,
];

describe('LDAP directory sign-in against slapd', { skip, timeout: 120_000 }, () => {
  let slapd: Slapd;
  let t: AccountsIdp;
  let logs = '';

  before(async () => {
    slapd = await startSlapd(
      [
        person('dora', DORA_PASSWORD, ['mail: dora@example.org']),
        person('eve', 'eve-directory-password'),
        person('locked', 'locked-directory-password', ['pwdAccountLockedTime: 000001010000Z']),
        person('inactive', 'inactive-directory-password', ['employeeType: inactive']),
        person('gone', 'gone-directory-password'),
        person('bob', 'bob-directory-password'),
        person(ODD_UID, 'odd-directory-password'),
        person('newbie', 'newbie-directory-password'),
        group('admins', ['dora']),
        group('staff', ['dora', 'eve', 'gone']),
      ].join('\n'),
    );
    const destination = new Writable({
      write(chunk, _enc, done) {
        logs += chunk;
        done();
      },
    });
    t = await startAccountsIdp({
      logger: createLogger({ level: 'debug', destination }),
      accounts: {
        bruteForce: {
          account: { freeAttempts: 100, lockoutAfter: 4 },
          source: { freeAttempts: 1000, lockoutAfter: 10000 },
        },
      },
      directory: {
        enabled: true,
        url: slapd.url,
        bindDn: READER_DN,
        bindPassword: READER_PASSWORD,
        userSearch: { base: `ou=people,${BASE_DN}` },
        disabledFilter: '(employeeType=inactive)',
        groups: {
          roles: {
            [`cn=admins,ou=groups,${BASE_DN}`]: ['admin'],
            // Written with other case and spaces: DNs compare normalized.
            [`CN=Staff, OU=groups, ${BASE_DN.toUpperCase()}`]: ['staff'],
          },
          defaultRoles: ['user'],
        },
        timeoutMs: 2000,
        connectTimeoutMs: 1000,
      },
    });
  });
  after(async () => {
    await t?.close();
    await slapd?.close();
  });

  const login = (username: string, password: string) =>
    fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username, password }),
    });

  async function lastFailure(): Promise<Record<string, unknown>> {
    const [event] = await t.accounts.audit.query({ type: 'login.failed', limit: 1 });
    return event!.details;
  }

  test('a directory user signs in through the session API with roles from their groups, imported without a password hash', async () => {
    const res = await login('dora', DORA_PASSWORD);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { id: string; username: string; roles: string[] };
    assert.equal(body.username, 'dora');
    assert.deepEqual(body.roles, ['admin', 'staff', 'user']);
    const [row] = await t.sql.query<{
      password_hash: string | null;
      email: string;
      source: string;
      dn: string;
    }>(
      `select u.password_hash, u.email, d.source, d.dn from idp_users u
       join idp_directory_accounts d on d.user_id = u.id where u.id = $1`,
      [body.id],
    );
    assert.equal(row!.password_hash, null);
    assert.equal(row!.email, 'dora@example.org');
    assert.equal(row!.source, 'ldap');
    assert.equal(row!.dn, `uid=dora,ou=people,${BASE_DN}`);
    const [imported] = await t.accounts.audit.query({ type: 'directory.account_imported', subject: body.id });
    assert.equal(imported?.details['dn'], `uid=dora,ou=people,${BASE_DN}`);
    const [signedIn] = await t.accounts.audit.query({ type: 'login.succeeded', subject: body.id });
    assert.deepEqual(signedIn?.details, { via: 'session-api', source: 'directory' });
  });

  test('the admin API shows the directory: its settings without the bind password, and that it answers', async () => {
    const token = await serviceToken(t, 'ops-robot', ['admin']);
    const res = await fetch(`${t.origin}/auth/admin/directory`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal(text.includes(READER_PASSWORD), false, 'the bind password is never shown');
    const body = JSON.parse(text) as {
      enabled: boolean;
      url: string;
      bindPassword: string;
      status: { reachable: boolean };
    };
    assert.equal(body.enabled, true);
    assert.equal(body.url, slapd.url);
    assert.equal(body.bindPassword, '(set)');
    assert.deepEqual(body.status, { reachable: true });
  });

  test('the same directory user signs in on the hosted login page; the access token carries the group roles', async () => {
    const tokens = await tokensFor(t, 'dora', DORA_PASSWORD);
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims['username'], 'dora');
    assert.deepEqual(claims['roles'], ['admin', 'staff', 'user']);
    // One account for both ways in.
    const accounts = await t.sql.query('select 1 from idp_users where username_key = $1', ['dora']);
    assert.equal(accounts.length, 1);
  });

  test('a login that changes nothing in the directory writes nothing: updated_at stays', async () => {
    const updatedAt = async () =>
      (
        await t.sql.query<{ updated_at: Date }>('select updated_at from idp_users where username_key = $1', [
          'dora',
        ])
      )[0]!.updated_at;
    const before = await updatedAt();
    assert.equal((await login('dora', DORA_PASSWORD)).status, 200);
    assert.deepEqual(await updatedAt(), before);
  });

  test('roles follow the directory groups at every login', async () => {
    await slapd.modify(`dn: cn=admins,ou=groups,${BASE_DN}
changetype: modify
delete: member
member: uid=dora,ou=people,${BASE_DN}
-
add: member
member: uid=eve,ou=people,${BASE_DN}
`);
    const res = await login('dora', DORA_PASSWORD);
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { roles: string[] }).roles, ['staff', 'user']);
  });

  test('a wrong directory password gets the same answer as a wrong local one, and is audited', async () => {
    const directory = await login('dora', 'not-the-password');
    const local = await login('alice', 'not-the-password');
    assert.equal(directory.status, 401);
    assert.equal(local.status, 401);
    assert.deepEqual(await directory.json(), await local.json());
    const res = await login('dora', 'not-the-password');
    assert.deepEqual(await res.json(), {
      error: 'IDP_INVALID_CREDENTIALS',
      message: 'Username or password is wrong',
    });
    assert.equal((await lastFailure())['reason'], 'wrong password');
  });

  test('an empty password is refused without an (unauthenticated) bind', async () => {
    // The session API refuses the empty field itself; the directory seam refuses it too.
    const res = await login('eve', '');
    assert.equal(res.status, 400);
    const verdict = await t.directory!.passwords.signIn('eve', '');
    assert.deepEqual(verdict, { outcome: 'refused', reason: 'wrong password', accountId: null });
  });

  test('wrong directory passwords count on the same brute-force counters as local ones', async () => {
    for (let i = 0; i < 4; i++) await login('eve', `wrong-${i}`);
    const res = await login('eve', 'eve-directory-password');
    assert.equal(res.status, 429);
    assert.equal(((await res.json()) as { error: string }).error, 'IDP_LOGIN_LOCKED');
  });

  test('an entry locked with pwdAccountLockedTime is refused with the generic answer', async () => {
    const res = await login('locked', 'locked-directory-password');
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'IDP_INVALID_CREDENTIALS');
    assert.equal((await lastFailure())['reason'], 'account disabled');
    assert.equal(
      (await t.sql.query('select 1 from idp_users where username_key = $1', ['locked'])).length,
      0,
    );
  });

  test('an entry matching the disabled filter is refused', async () => {
    const res = await login('inactive', 'inactive-directory-password');
    assert.equal(res.status, 401);
    assert.equal((await lastFailure())['reason'], 'account disabled');
  });

  for (const name of [
    '*',
    'dor*',
    'dora)(uid=*',
    '*)(|(uid=*',
    'dora)(objectClass=*',
    '\\2a',
    'do\\ra',
    'dora\u0000',
  ])
    test(`an LDAP filter character in the username is data, not syntax: ${JSON.stringify(name)}`, async () => {
      const res = await login(name, DORA_PASSWORD);
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: string }).error, 'IDP_INVALID_CREDENTIALS');
      assert.equal((await lastFailure())['reason'], 'unknown account');
    });

  test('a uid made of filter characters is found literally (escaped per RFC 4515), then refused by the username rule', async () => {
    // Found and bound: only the exact value matched. Gatehouse usernames cannot hold these characters.
    const res = await login(ODD_UID, 'odd-directory-password');
    assert.equal(res.status, 401);
    assert.equal((await lastFailure())['reason'], 'directory username not allowed here');
    const wildcard = await login('w*', 'odd-directory-password');
    assert.equal(wildcard.status, 401);
    assert.equal((await lastFailure())['reason'], 'unknown account');
  });

  const register = (username: string) =>
    fetch(`${t.origin}/authentication/registration`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username, password: 'a-long-enough-password-9' }),
    });

  test('self-service registration cannot take the name of a directory user who never signed in', async () => {
    const taken = await register('newbie');
    assert.equal(taken.status, 409);
    assert.equal(((await taken.json()) as { error: string }).error, 'IDP_USERNAME_TAKEN');
    assert.equal((await login('newbie', 'newbie-directory-password')).status, 200);
    assert.equal((await register('not-in-the-directory')).status, 201);
  });

  test('local first: a local account keeps its name and password when the directory has the same name', async () => {
    assert.equal((await login('bob', 'bob-password')).status, 200);
    assert.equal((await login('bob', 'bob-directory-password')).status, 401);
  });

  test('the directory sync disables an account whose entry was removed, and ends its sessions', async () => {
    const gone = await login('gone', 'gone-directory-password');
    assert.equal(gone.status, 200);
    const goneId = ((await gone.json()) as { id: string }).id;
    await slapd.modify(`dn: uid=gone,ou=people,${BASE_DN}
changetype: delete
`);
    const report = await t.directory!.sync();
    assert.equal(report.disabled, 1);
    const [row] = await t.sql.query<{ enabled: boolean }>('select enabled from idp_users where id = $1', [
      goneId,
    ]);
    assert.equal(row!.enabled, false);
    const [disabled] = await t.accounts.audit.query({ type: 'directory.account_disabled', subject: goneId });
    assert.equal(disabled?.details['reason'], 'removed from the directory');
    const [ended] = await t.sql.query<{ end_reason: string }>(
      'select end_reason from idp_sessions where user_id = $1',
      [goneId],
    );
    assert.equal(ended!.end_reason, 'directory');
    const [synced] = await t.accounts.audit.query({ type: 'directory.sync', limit: 1 });
    assert.equal(synced?.details['disabled'], 1);
    assert.equal((await login('gone', 'gone-directory-password')).status, 401);
  });

  test('the directory stopped: directory users get a clear 503, local accounts still sign in, and it recovers', async () => {
    await slapd.stop();
    try {
      const res = await login('dora', DORA_PASSWORD);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { error: string }).error, 'IDP_DIRECTORY_UNAVAILABLE');
      assert.equal((await lastFailure())['reason'], 'directory unavailable');
      assert.equal((await login('alice', 'alice-password')).status, 200);
      // Registration fails closed: it cannot tell whether the name is a directory user's.
      const registration = await register('someone-new');
      assert.equal(registration.status, 503);
      assert.equal(((await registration.json()) as { error: string }).error, 'IDP_DIRECTORY_UNAVAILABLE');
      // The hosted page shows the same answer on the login form.
      const { page, csrf, browser } = await openLoginPage(t);
      const form = await fetch(`${page}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: browser.header(),
          origin: t.origin,
        },
        body: new URLSearchParams({ csrf, username: 'dora', password: DORA_PASSWORD }).toString(),
      });
      assert.equal(form.status, 503);
      assert.match(await form.text(), /The directory cannot be reached/);
      // A sync while the directory is down changes nothing.
      const before = await t.sql.query('select id from idp_users where enabled');
      await assert.rejects(t.directory!.sync(), { code: 'IDP_DIRECTORY_UNAVAILABLE' });
      assert.equal((await t.sql.query('select id from idp_users where enabled')).length, before.length);
    } finally {
      await slapd.start();
    }
    assert.equal((await login('dora', DORA_PASSWORD)).status, 200);
  });

  test('no directory password reached the logs or the audit trail', async () => {
    const audit = JSON.stringify(await t.accounts.audit.query({ limit: 500 }));
    assert.ok(logs.length > 0, 'the idp logged something');
    for (const password of directoryPasswords) {
      assert.ok(!logs.includes(password), 'a directory password is in the logs');
      assert.ok(!audit.includes(password), 'a directory password is in the audit trail');
    }
  });
});

describe('LDAP directory sign-in, directory first', { skip, timeout: 120_000 }, () => {
  let slapd: Slapd;
  let t: AccountsIdp;
  before(async () => {
    slapd = await startSlapd(
      [person('bob', 'bob-directory-password'), person('zoe', 'zoe-directory-password')].join('\n'),
    );
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      directory: {
        enabled: true,
        url: slapd.url,
        bindDn: READER_DN,
        bindPassword: READER_PASSWORD,
        userSearch: { base: `ou=people,${BASE_DN}` },
        precedence: 'directory-first',
        timeoutMs: 2000,
        connectTimeoutMs: 1000,
      },
    });
  });
  after(async () => {
    await t?.close();
    await slapd?.close();
  });

  const login = (username: string, password: string) =>
    fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username, password }),
    });

  test('the directory answers first; a name it does not know is a local account', async () => {
    assert.equal((await login('zoe', 'zoe-directory-password')).status, 200);
    assert.equal((await login('alice', 'alice-password')).status, 200);
  });

  test('a directory entry never takes over the local account of its name', async () => {
    const res = await login('bob', 'bob-directory-password');
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as { error: string }).error, 'IDP_DIRECTORY_ACCOUNT_CONFLICT');
    // The local password does not work for a name the directory answers for.
    assert.equal((await login('bob', 'bob-password')).status, 401);
  });

  test('directory down: the local account of a name the directory also has signs in with its own password', async () => {
    await slapd.stop();
    try {
      assert.equal((await login('bob', 'bob-password')).status, 200);
      assert.equal((await login('zoe', 'zoe-directory-password')).status, 503);
    } finally {
      await slapd.start();
    }
  });
});
