import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AccountsIdp, startAccountsIdp } from './accounts-harness.ts';

/** Hostile input to the session API: each gets a stable error and changes nothing. */
describe('session API refuses bad input', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
  });
  after(() => t?.close());

  async function expectError(res: Response, status: number, code: string): Promise<void> {
    assert.equal(res.status, status);
    assert.equal(((await res.json()) as { error: string }).error, code);
    assert.deepEqual(res.headers.getSetCookie(), []);
  }

  const post = (path: string, body: string, headers: Record<string, string>) =>
    fetch(`${t.origin}${path}`, { method: 'POST', headers, body });

  async function userCount(): Promise<number> {
    const [row] = await t.sql.query<{ n: number }>('select count(*)::int as n from idp_users');
    return row!.n;
  }

  test('a cross-site form post to login is refused with 403 IDP_CSRF_REJECTED', async () => {
    const res = await post('/authentication/login', 'username=alice&password=alice-password', {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'https://evil.example',
    });
    await expectError(res, 403, 'IDP_CSRF_REJECTED');
  });

  test('a form post with neither Origin nor Referer is refused', async () => {
    const res = await post('/authentication/login', 'username=alice&password=alice-password', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    await expectError(res, 403, 'IDP_CSRF_REJECTED');
  });

  test('Origin: null (sandboxed frames, data: URLs) is refused', async () => {
    const res = await post('/authentication/login', '{"username":"alice","password":"alice-password"}', {
      'content-type': 'application/json',
      origin: 'null',
    });
    await expectError(res, 403, 'IDP_CSRF_REJECTED');
  });

  test('Sec-Fetch-Site: cross-site is refused even for JSON', async () => {
    const res = await post('/authentication/login', '{"username":"alice","password":"alice-password"}', {
      'content-type': 'application/json',
      'sec-fetch-site': 'cross-site',
    });
    await expectError(res, 403, 'IDP_CSRF_REJECTED');
  });

  test('a cross-site logout does not end the session', async () => {
    const login = await post('/authentication/login', '{"username":"bob","password":"bob-password"}', {
      'content-type': 'application/json',
    });
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const res = await post('/authentication/logout', '', {
      cookie,
      'content-type': 'text/plain',
      origin: 'https://evil.example',
    });
    await expectError(res, 403, 'IDP_CSRF_REJECTED');
    const me = await fetch(`${t.origin}/authentication/whoami`, { headers: { cookie } });
    assert.equal(me.status, 200);
  });

  test('malformed JSON is 400 GH_BAD_REQUEST', async () => {
    const res = await post('/authentication/login', '{"username":', { 'content-type': 'application/json' });
    await expectError(res, 400, 'GH_BAD_REQUEST');
  });

  test('a JSON value that is not a string is 400 GH_BAD_REQUEST', async () => {
    const res = await post('/authentication/login', '{"username":["alice"],"password":"x"}', {
      'content-type': 'application/json',
    });
    await expectError(res, 400, 'GH_BAD_REQUEST');
  });

  test('another content type is 415 GH_UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await post('/authentication/login', 'alice', {
      'content-type': 'text/plain',
      origin: t.origin,
    });
    await expectError(res, 415, 'GH_UNSUPPORTED_MEDIA_TYPE');
  });

  test('an oversized body is 413 GH_BODY_TOO_LARGE and creates nothing', async () => {
    const before = await userCount();
    const body = JSON.stringify({ username: 'big', password: 'p'.repeat(20_000) });
    const res = await post('/authentication/registration', body, { 'content-type': 'application/json' });
    await expectError(res, 413, 'GH_BODY_TOO_LARGE');
    assert.equal(await userCount(), before);
  });

  test('an unknown field is 400 IDP_FIELD_UNKNOWN and creates nothing', async () => {
    const before = await userCount();
    const res = await post(
      '/authentication/registration',
      JSON.stringify({ username: 'mallory', password: 'a quiet evening walk', roles: 'admin' }),
      { 'content-type': 'application/json' },
    );
    await expectError(res, 400, 'IDP_FIELD_UNKNOWN');
    assert.equal(await userCount(), before);
  });

  test('a repeated form field is 400 GH_BAD_REQUEST', async () => {
    const res = await post('/authentication/login', 'username=alice&username=bob&password=x', {
      'content-type': 'application/x-www-form-urlencoded',
      origin: t.origin,
    });
    await expectError(res, 400, 'GH_BAD_REQUEST');
  });

  test('a missing field is 400 IDP_FIELD_MISSING', async () => {
    const res = await post('/authentication/login', '{"username":"alice"}', {
      'content-type': 'application/json',
    });
    await expectError(res, 400, 'IDP_FIELD_MISSING');
  });

  test('a very long username is 400 IDP_FIELD_TOO_LONG', async () => {
    const res = await post(
      '/authentication/login',
      JSON.stringify({ username: 'a'.repeat(2000), password: 'x' }),
      {
        'content-type': 'application/json',
      },
    );
    await expectError(res, 400, 'IDP_FIELD_TOO_LONG');
  });

  test('a look-alike username (Cyrillic a in alice) is refused at registration and creates nothing', async () => {
    const before = await userCount();
    const res = await post(
      '/authentication/registration',
      JSON.stringify({ username: '\u0430lice', password: 'a quiet evening walk' }),
      { 'content-type': 'application/json' },
    );
    await expectError(res, 400, 'IDP_USERNAME_INVALID');
    assert.equal(await userCount(), before);
  });

  test('a common password is refused at registration with 400 IDP_PASSWORD_COMMON', async () => {
    const res = await post(
      '/authentication/registration',
      JSON.stringify({ username: 'trent', password: 'iloveyou123' }),
      {
        'content-type': 'application/json',
      },
    );
    await expectError(res, 400, 'IDP_PASSWORD_COMMON');
  });

  test('a NUL byte in the username is an ordinary wrong login, not a storage error', async () => {
    const res = await post(
      '/authentication/login',
      JSON.stringify({ username: 'ali\u0000ce', password: 'alice-password' }),
      {
        'content-type': 'application/json',
      },
    );
    await expectError(res, 401, 'IDP_INVALID_CREDENTIALS');
  });

  test('a login with a look-alike of an existing name is an ordinary wrong login', async () => {
    const res = await post(
      '/authentication/login',
      JSON.stringify({ username: '\u0430lice', password: 'alice-password' }),
      {
        'content-type': 'application/json',
      },
    );
    await expectError(res, 401, 'IDP_INVALID_CREDENTIALS');
  });
});

describe('registration limits', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({ accounts: { registrationsPerHour: 2 } });
  });
  after(() => t?.close());

  const register = (username: string, forwardedFor: string) =>
    fetch(`${t.origin}/authentication/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ username, password: 'a quiet evening walk' }),
    });

  test('past the hourly limit an address gets 429 IDP_REGISTRATION_THROTTLED, others still register', async () => {
    assert.equal((await register('reg-one', '198.51.100.20')).status, 201);
    assert.equal((await register('reg-two', '198.51.100.20')).status, 201);
    const third = await register('reg-three', '198.51.100.20');
    assert.equal(third.status, 429);
    assert.equal(((await third.json()) as { error: string }).error, 'IDP_REGISTRATION_THROTTLED');
    assert.ok(Number(third.headers.get('retry-after')) > 0);
    assert.equal(await t.accounts.getByUsername('reg-three'), undefined);
    assert.equal((await register('reg-three', '198.51.100.21')).status, 201);
  });
});

describe('registration turned off', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({ accounts: { registration: false } });
  });
  after(() => t?.close());

  test('POST /authentication/registration is 403 IDP_REGISTRATION_DISABLED', async () => {
    const res = await fetch(`${t.origin}/authentication/registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nobody', password: 'a quiet evening walk' }),
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: string }).error, 'IDP_REGISTRATION_DISABLED');
  });
});
