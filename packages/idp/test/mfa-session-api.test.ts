import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { generate } from 'otplib';
import type { AuditEventType } from '../src/audit/audit.ts';
import { type AccountsIdp, serviceToken, sessionCookieOf, startAccountsIdp } from './accounts-harness.ts';

// TOTP second factors through the first-party session API: setup, sign-in with a code or a
// recovery code, replay and brute force refused, the role policy, and an admin's reset.
const json = { 'content-type': 'application/json' };
const now = () => Math.floor(Date.now() / 1000);

/** A code of the next time step: accepted once, and never again (the step is then used). */
const nextCode = (secret: string) => generate({ secret, epoch: now() + 30 });

/** A six-digit code that is not valid for any step within the tolerance. */
async function wrongCode(secret: string): Promise<string> {
  const valid = new Set(
    await Promise.all([-60, -30, 0, 30, 60].map((d) => generate({ secret, epoch: now() + d }))),
  );
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!valid.has(code)) return code;
  }
}

describe('TOTP second factor in the session API', () => {
  let t: AccountsIdp;
  let adminToken: string;
  before(async () => {
    t = await startAccountsIdp({
      accounts: {
        bruteForce: {
          account: { freeAttempts: 100, lockoutAfter: 4 },
          source: { freeAttempts: 1000, lockoutAfter: 10000 },
        },
      },
      idp: { mfa: { requiredRoles: ['admin'], issuer: 'Gatehouse Test' } },
    });
    adminToken = await serviceToken(t, 'mfa-admin-client', ['admin']);
  });
  after(() => t?.close());

  const post = (path: string, body: unknown, cookie?: string) =>
    fetch(`${t.origin}${path}`, {
      method: 'POST',
      headers: { ...json, ...(cookie ? { cookie: `gatehouse_session=${cookie}` } : {}) },
      body: JSON.stringify(body),
    });
  const login = (username: string, password: string) => post('/authentication/login', { username, password });

  async function mfaToken(
    username: string,
    password: string,
    expected = 'IDP_MFA_REQUIRED',
  ): Promise<string> {
    const res = await login(username, password);
    assert.equal(res.status, 401);
    assert.equal(sessionCookieOf(res), undefined, 'no session before the second factor');
    const body = (await res.json()) as { error: string; mfaToken: string };
    assert.equal(body.error, expected);
    return body.mfaToken;
  }

  /** Sign `username` in (no second factor yet) and set up TOTP: the secret and the recovery codes. */
  async function enrol(username: string, password: string): Promise<{ secret: string; codes: string[] }> {
    const session = sessionCookieOf(await login(username, password))!;
    const setup = await post('/authentication/totp-setup', {}, session);
    assert.equal(setup.status, 200);
    const { secret } = (await setup.json()) as { secret: string };
    const confirm = await post(
      '/authentication/totp-setup/confirm',
      { code: await generate({ secret }) },
      session,
    );
    assert.equal(confirm.status, 200);
    return { secret, codes: ((await confirm.json()) as { recoveryCodes: string[] }).recoveryCodes };
  }

  const lastEvent = async (type: AuditEventType) => (await t.accounts.audit.query({ type, limit: 1 }))[0]!;

  test('setup: a QR code and the secret as text, active only after a first valid code, ten recovery codes', async () => {
    const session = sessionCookieOf(await login('bob', 'bob-password'))!;
    const setup = await post('/authentication/totp-setup', {}, session);
    assert.equal(setup.status, 200);
    const body = (await setup.json()) as { secret: string; otpauthUrl: string; qrCode: string };
    assert.match(body.secret, /^[A-Z2-7]{32}$/);
    assert.match(body.otpauthUrl, /^otpauth:\/\/totp\/Gatehouse%20Test:bob\?/);
    assert.match(body.otpauthUrl, new RegExp(`secret=${body.secret}`));
    assert.match(body.qrCode, /^data:image\/png;base64,/);
    // Not active yet: bob still signs in with his password alone.
    assert.equal((await login('bob', 'bob-password')).status, 200);
    const status = await fetch(`${t.origin}/authentication/second-factors`, {
      headers: { cookie: `gatehouse_session=${session}` },
    });
    assert.deepEqual(await status.json(), { totp: false, recoveryCodesLeft: 0, passkeys: 0 });

    const wrong = await post(
      '/authentication/totp-setup/confirm',
      { code: await wrongCode(body.secret) },
      session,
    );
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'IDP_MFA_CODE_INVALID');

    const confirm = await post(
      '/authentication/totp-setup/confirm',
      { code: await generate({ secret: body.secret }) },
      session,
    );
    assert.equal(confirm.status, 200);
    const { recoveryCodes } = (await confirm.json()) as { recoveryCodes: string[] };
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    for (const c of recoveryCodes) assert.match(c, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    assert.equal((await lastEvent('mfa.enrolled')).details['method'], 'totp');

    // At rest: the secret encrypted, the recovery codes as SHA-256 digests only.
    const [row] = await t.sql.query<{ secret_encrypted: Buffer }>(
      'select secret_encrypted from idp_totp t join idp_users u on u.id = t.user_id where u.username_key = $1',
      ['bob'],
    );
    assert.ok(!row!.secret_encrypted.toString('latin1').includes(body.secret));
    assert.ok(!row!.secret_encrypted.includes(Buffer.from(body.secret)));
    const hashes = (await t.sql.query<{ code_hash: string }>('select code_hash from idp_recovery_codes')).map(
      (r) => r.code_hash,
    );
    const expected = createHash('sha256').update(recoveryCodes[0]!.replaceAll('-', '')).digest('hex');
    assert.ok(hashes.includes(expected));
    assert.ok(!JSON.stringify(hashes).includes(recoveryCodes[0]!.replaceAll('-', '')));

    // A second setup while one is active is refused.
    const again = await post('/authentication/totp-setup', {}, session);
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { error: string }).error, 'IDP_MFA_ALREADY_ENROLLED');
  });

  test('sign-in asks for the code after the password; a wrong code is refused; a right one starts the session; it is never accepted twice', async () => {
    await t.accounts.create({ username: 'grace', password: 'lantern-pebble-quartz-4', roles: [] });
    const { secret } = await enrol('grace', 'lantern-pebble-quartz-4');
    const token = await mfaToken('grace', 'lantern-pebble-quartz-4');
    const wrong = await post('/authentication/login/second-factor', {
      mfaToken: token,
      code: await wrongCode(secret),
    });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'IDP_MFA_CODE_INVALID');
    assert.equal((await lastEvent('mfa.failed')).details['reason'], 'wrong code');

    const code = await nextCode(secret);
    const ok = await post('/authentication/login/second-factor', { mfaToken: token, code });
    assert.equal(ok.status, 200);
    const session = decodeJwt(sessionCookieOf(ok)!);
    assert.deepEqual(session['amr'], ['pwd', 'otp', 'mfa']);
    assert.equal(session['acr'], 'urn:gatehouse:acr:mfa');
    assert.equal(((await ok.json()) as { username: string }).username, 'grace');
    assert.equal((await lastEvent('mfa.used')).details['method'], 'totp');

    // The challenge is used up, and the same code on a new sign-in is a replay.
    const reused = await post('/authentication/login/second-factor', { mfaToken: token, code });
    assert.equal(((await reused.json()) as { error: string }).error, 'IDP_MFA_TOKEN_INVALID');
    const replay = await post('/authentication/login/second-factor', {
      mfaToken: await mfaToken('grace', 'lantern-pebble-quartz-4'),
      code,
    });
    assert.equal(replay.status, 401);
    assert.equal(((await replay.json()) as { error: string }).error, 'IDP_MFA_CODE_INVALID');
    assert.equal((await lastEvent('mfa.failed')).details['reason'], 'replayed code');
  });

  test('a recovery code signs in once, typed in any case and grouping', async () => {
    await t.accounts.create({ username: 'erin', password: 'correct-horse-staple-7', roles: [] });
    const { codes } = await enrol('erin', 'correct-horse-staple-7');
    const typed = codes[3]!.toUpperCase().replaceAll('-', ' ');
    const ok = await post('/authentication/login/second-factor', {
      mfaToken: await mfaToken('erin', 'correct-horse-staple-7'),
      recoveryCode: typed,
    });
    assert.equal(ok.status, 200);
    const used = await lastEvent('mfa.recovery_code_used');
    assert.equal(used.details['recoveryCodesLeft'], 9);
    const again = await post('/authentication/login/second-factor', {
      mfaToken: await mfaToken('erin', 'correct-horse-staple-7'),
      recoveryCode: codes[3],
    });
    assert.equal(again.status, 401);
    assert.equal(((await again.json()) as { error: string }).error, 'IDP_MFA_CODE_INVALID');
  });

  test('bad second-step input: unknown token, missing code, unknown field, code too long', async () => {
    for (const [body, status, error] of [
      [{ mfaToken: 'A'.repeat(43), code: '123456' }, 401, 'IDP_MFA_TOKEN_INVALID'],
      [{ mfaToken: 'not a token', code: '123456' }, 401, 'IDP_MFA_TOKEN_INVALID'],
      [{ code: '123456' }, 400, 'IDP_FIELD_MISSING'],
      [{ mfaToken: 'A'.repeat(43), code: '123456', extra: 'x' }, 400, 'IDP_FIELD_UNKNOWN'],
      [{ mfaToken: 'A'.repeat(43), code: '1'.repeat(17) }, 400, 'IDP_FIELD_TOO_LONG'],
    ] as const) {
      const res = await post('/authentication/login/second-factor', body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(((await res.json()) as { error: string }).error, error);
    }
  });

  test('setup routes need a session, and a confirmation needs a setup begun', async () => {
    const anonymous = await post('/authentication/totp-setup', {});
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: string }).error, 'IDP_UNAUTHENTICATED');
    const status = await fetch(`${t.origin}/authentication/second-factors`);
    assert.equal(status.status, 401);
    await t.accounts.create({ username: 'heidi', password: 'meadow-copper-violet-3', roles: [] });
    const session = sessionCookieOf(await login('heidi', 'meadow-copper-violet-3'))!;
    const early = await post('/authentication/totp-setup/confirm', { code: '123456' }, session);
    assert.equal(early.status, 409);
    assert.equal(((await early.json()) as { error: string }).error, 'IDP_MFA_NOT_ENROLLING');
    const notAdmin = await post('/authentication/login/totp-setup', { mfaToken: 'B'.repeat(43) });
    assert.equal(((await notAdmin.json()) as { error: string }).error, 'IDP_MFA_TOKEN_INVALID');
  });

  test('wrong codes are limited like passwords: past the limit even the right code is locked out', async () => {
    await t.accounts.create({ username: 'frank', password: 'battery-orbit-maple-9', roles: [] });
    const { secret } = await enrol('frank', 'battery-orbit-maple-9');
    const token = await mfaToken('frank', 'battery-orbit-maple-9');
    for (let i = 0; i < 4; i++)
      await post('/authentication/login/second-factor', { mfaToken: token, code: await wrongCode(secret) });
    const res = await post('/authentication/login/second-factor', {
      mfaToken: token,
      code: await nextCode(secret),
    });
    assert.equal(res.status, 429);
    assert.equal(((await res.json()) as { error: string }).error, 'IDP_LOGIN_LOCKED');
  });

  test('an admin without a second factor is asked to set one up at sign-in, and is signed in by its first code', async () => {
    const token = await mfaToken('alice', 'alice-password', 'IDP_MFA_ENROLMENT_REQUIRED');
    // The enrolment token cannot skip the setup.
    const early = await post('/authentication/login/second-factor', {
      mfaToken: token,
      recoveryCode: 'aaaa-aaaa-aaaa-aaaa',
    });
    assert.equal(early.status, 400);
    const setup = await post('/authentication/login/totp-setup', { mfaToken: token });
    assert.equal(setup.status, 200);
    const { secret, qrCode } = (await setup.json()) as { secret: string; qrCode: string };
    assert.match(qrCode, /^data:image\/png;base64,/);
    const done = await post('/authentication/login/second-factor', {
      mfaToken: token,
      code: await generate({ secret }),
    });
    assert.equal(done.status, 200);
    assert.ok(sessionCookieOf(done));
    const body = (await done.json()) as { username: string; roles: string[]; recoveryCodes: string[] };
    assert.equal(body.username, 'alice');
    assert.equal(body.recoveryCodes.length, 10);
    // From now on alice is asked for a code, not for a setup.
    await mfaToken('alice', 'alice-password', 'IDP_MFA_REQUIRED');
  });

  test('an admin resets a person’s second factors through the admin API (audited); the person signs in with the password again', async () => {
    const [bob] = await t.sql.query<{ id: string }>('select id from idp_users where username_key = $1', [
      'bob',
    ]);
    const reset = (id: string) =>
      fetch(`${t.origin}/auth/admin/users/${id}/second-factors`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${adminToken}` },
      });
    assert.equal((await login('bob', 'bob-password')).status, 401);
    assert.equal((await reset(bob!.id)).status, 204);
    const event = await lastEvent('mfa.reset');
    assert.equal(event.subject, bob!.id);
    assert.equal(event.actor, 'client:mfa-admin-client');
    assert.equal((await login('bob', 'bob-password')).status, 200);
    const second = await reset(bob!.id);
    assert.equal(second.status, 404);
    assert.equal((await reset('00000000-0000-4000-8000-000000000000')).status, 404);
    const noToken = await fetch(`${t.origin}/auth/admin/users/${bob!.id}/second-factors`, {
      method: 'DELETE',
    });
    assert.equal(noToken.status, 401);
  });
});
