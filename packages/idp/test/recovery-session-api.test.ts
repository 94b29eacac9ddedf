import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@gatehouse/core';
import { mailLinkBase, resolveMailConfig } from '../src/mail/mail-config.ts';
import { createMailer } from '../src/mail/mailer.ts';
import { resolveRecoveryConfig } from '../src/recovery/recovery-config.ts';
import { type AccountsIdp, sessionCookieOf, startAccountsIdp } from './accounts-harness.ts';
import { linkIn, startSmtp, type TestSmtp } from './smtp-harness.ts';

// Account recovery and email through the session API, case by case: each bad input gets its code and
// changes nothing; limits per address and per account; an email change takes effect only when the
// new address is verified. The mail goes to a real SMTP server on loopback.
const json = { 'content-type': 'application/json' };

async function errorOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: string }).error;
}

describe('account recovery in the session API', () => {
  let t: AccountsIdp;
  let smtp: TestSmtp;
  before(async () => {
    smtp = await startSmtp();
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      idp: {
        mail: { smtp: { host: '127.0.0.1', port: smtp.port, requireTls: false } },
        recovery: { mailsPerHour: 3, requestsPerHourPerIp: 1000 },
      },
    });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  const post = (path: string, body: unknown, cookie?: string) =>
    fetch(`${t.origin}${path}`, {
      method: 'POST',
      headers: { ...json, ...(cookie ? { cookie: `gatehouse_session=${cookie}` } : {}) },
      body: JSON.stringify(body),
    });
  const login = (username: string, password: string) => post('/authentication/login', { username, password });
  async function sessionOf(username: string, password: string): Promise<string> {
    const res = await login(username, password);
    assert.equal(res.status, 200);
    return sessionCookieOf(res)!;
  }
  const auditCount = async (type: string) =>
    Number(
      (
        await t.sql.query<{ n: string }>('select count(*) as n from idp_audit_events where type = $1', [type])
      )[0]!.n,
    );
  async function resetToken(email: string): Promise<string> {
    const res = await post('/authentication/password/forgot', { email });
    assert.equal(res.status, 202);
    return linkIn(await smtp.next(email), '/authentication/recovery/reset').searchParams.get('token')!;
  }

  test('forgot password: a malformed, missing or extra field is refused and sends nothing', async () => {
    const sent = smtp.received.length;
    for (const [body, code] of [
      [{ email: 'not-an-address' }, 'IDP_EMAIL_INVALID'],
      [{ email: 'a@b' }, 'IDP_EMAIL_INVALID'],
      [{}, 'IDP_FIELD_MISSING'],
      [{ email: 'alice@example.com', username: 'alice' }, 'IDP_FIELD_UNKNOWN'],
      [{ email: `${'a'.repeat(250)}@example.com` }, 'IDP_FIELD_TOO_LONG'],
    ] as const) {
      const res = await post('/authentication/password/forgot', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(await errorOf(res), code);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(smtp.received.length, sent);
  });

  test('a reset with an unknown, malformed or wrong-purpose token is refused and changes nothing', async () => {
    const unknown = randomBytes(32).toString('base64url');
    for (const token of [unknown, 'short', `${unknown}=`]) {
      const res = await post('/authentication/password/reset', {
        token,
        password: 'Quiet-meadow-passphrase-2',
      });
      assert.equal(res.status, 400);
      assert.equal(await errorOf(res), 'IDP_RECOVERY_TOKEN_INVALID');
    }
    // A reset token is no verification token.
    const token = await resetToken('alice@example.com');
    const verify = await post('/authentication/email/verify', { token });
    assert.equal(verify.status, 400);
    assert.equal(await errorOf(verify), 'IDP_RECOVERY_TOKEN_INVALID');
    assert.equal((await login('alice', 'alice-password')).status, 200, 'the password is unchanged');
  });

  test('a password the policy refuses leaves the password and the link as they were; the link then works once', async () => {
    const token = await resetToken('bob@example.com');
    const before = await auditCount('password.reset');
    for (const [password, code] of [
      ['short', 'IDP_PASSWORD_TOO_SHORT'],
      ['password123', 'IDP_PASSWORD_COMMON'],
    ]) {
      const res = await post('/authentication/password/reset', { token, password });
      assert.equal(res.status, 400);
      assert.equal(await errorOf(res), code);
    }
    assert.equal((await login('bob', 'bob-password')).status, 200, 'the old password still works');
    assert.equal(await auditCount('password.reset'), before);

    const ok = await post('/authentication/password/reset', { token, password: 'Quiet-meadow-passphrase-2' });
    assert.equal(ok.status, 200);
    assert.equal(await auditCount('password.reset'), before + 1);
    const notice = await smtp.next('bob@example.com');
    assert.match(notice.raw, /password was changed/);
    const again = await post('/authentication/password/reset', {
      token,
      password: 'Other-meadow-passphrase-3',
    });
    assert.equal(again.status, 400);
    assert.equal(await errorOf(again), 'IDP_RECOVERY_TOKEN_USED');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await login('bob', 'Quiet-meadow-passphrase-2')).status, 200);
    assert.equal((await login('bob', 'Other-meadow-passphrase-3')).status, 401);
  });

  test('mail per address is limited, for a known and an unknown address alike', async () => {
    for (const email of ['alice@example.com', 'nobody@example.com']) {
      // alice's address already had mail in this suite: count what is left of the hour's three.
      let status = 202;
      let tries = 0;
      while (status === 202 && tries < 5) {
        const res = await post('/authentication/password/forgot', { email });
        status = res.status;
        tries++;
        if (status === 429) {
          assert.equal(await errorOf(res), 'IDP_RECOVERY_THROTTLED');
          assert.ok(Number(res.headers.get('retry-after')) >= 1);
        }
      }
      assert.equal(status, 429, `${email} is limited`);
    }
  });

  test('an email change takes effect only when the link sent to the new address is opened', async () => {
    await t.accounts.create({
      username: 'dora',
      password: 'Velvet-rose-passphrase-4',
      email: 'dora@example.com',
    });
    const session = await sessionOf('dora', 'Velvet-rose-passphrase-4');
    const dora = (await t.accounts.getByUsername('dora'))!;

    assert.equal((await post('/authentication/email/change', { email: 'dora.new@example.org' })).status, 401);
    const taken = await post('/authentication/email/change', { email: 'ALICE@example.com' }, session);
    assert.equal(taken.status, 409);
    assert.equal(await errorOf(taken), 'IDP_EMAIL_TAKEN');
    const malformed = await post('/authentication/email/change', { email: 'dora@' }, session);
    assert.equal(malformed.status, 400);
    assert.equal(await errorOf(malformed), 'IDP_EMAIL_INVALID');

    const res = await post('/authentication/email/change', { email: 'dora.new@example.org' }, session);
    assert.equal(res.status, 202);
    assert.equal((await t.accounts.get(dora.id))!.email, 'dora@example.com', 'not before the link');
    const link = linkIn(await smtp.next('dora.new@example.org'), '/authentication/recovery/verify');
    const verified = await post('/authentication/email/verify', { token: link.searchParams.get('token') });
    assert.equal(verified.status, 200);
    assert.deepEqual(await verified.json(), { email: 'dora.new@example.org', emailVerified: true });
    assert.equal((await t.accounts.get(dora.id))!.email, 'dora.new@example.org');
    const [row] = await t.sql.query<{ email_verified: boolean }>(
      'select email_verified from idp_users where id = $1',
      [dora.id],
    );
    assert.equal(row!.email_verified, true);
    assert.ok((await auditCount('email.change_requested')) >= 1);
    assert.ok((await auditCount('email.verified')) >= 1);

    // Verified: asking for the link again is refused.
    const resend = await post('/authentication/email/verification', {}, session);
    assert.equal(resend.status, 409);
    assert.equal(await errorOf(resend), 'IDP_EMAIL_ALREADY_VERIFIED');

    // An address an administrator sets is not verified.
    await t.accounts.update(dora.id, { email: 'dora.admin@example.org' }, 'admin');
    const [afterAdmin] = await t.sql.query<{ email_verified: boolean }>(
      'select email_verified from idp_users where id = $1',
      [dora.id],
    );
    assert.equal(afterAdmin!.email_verified, false);
  });

  test('the verification link again, limited per account', async () => {
    await t.accounts.create({
      username: 'erin',
      password: 'Silver-lake-passphrase-5',
      email: 'erin@example.com',
    });
    await t.accounts.create({ username: 'finn', password: 'Green-hill-passphrase-6' });
    const erin = await sessionOf('erin', 'Silver-lake-passphrase-5');
    assert.equal((await post('/authentication/email/verification', {})).status, 401);
    const none = await post(
      '/authentication/email/verification',
      {},
      await sessionOf('finn', 'Green-hill-passphrase-6'),
    );
    assert.equal(none.status, 409);
    assert.equal(await errorOf(none), 'IDP_EMAIL_MISSING');
    const links: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post('/authentication/email/verification', {}, erin);
      assert.equal(res.status, 202);
      links.push(
        linkIn(await smtp.next('erin@example.com'), '/authentication/recovery/verify').searchParams.get(
          'token',
        )!,
      );
    }
    const limited = await post('/authentication/email/verification', {}, erin);
    assert.equal(limited.status, 429);
    assert.equal(await errorOf(limited), 'IDP_RECOVERY_THROTTLED');
    // Only the newest link works.
    const old = await post('/authentication/email/verify', { token: links[0] });
    assert.equal(old.status, 400);
    assert.equal(await errorOf(old), 'IDP_RECOVERY_TOKEN_USED');
    assert.equal((await post('/authentication/email/verify', { token: links[2] })).status, 200);
  });

  test('the development mailbox is not there when mail goes to SMTP', async () => {
    const res = await fetch(`${t.origin}/authentication/dev/mailbox`);
    assert.equal(res.status, 404);
    assert.equal(await errorOf(res), 'IDP_DEV_MAILBOX_UNAVAILABLE');
  });
});

describe('an SMTP server without STARTTLS while TLS is required', () => {
  let t: AccountsIdp;
  let smtp: TestSmtp;
  before(async () => {
    smtp = await startSmtp();
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      // requireTls defaults to true: the mail must not cross the network in clear.
      idp: { mail: { smtp: { host: '127.0.0.1', port: smtp.port, timeoutSeconds: 5 } } },
    });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  test('nothing is sent, the answer is IDP_MAIL_FAILED and no link is left behind', async () => {
    await t.accounts.create({
      username: 'gwen',
      password: 'Amber-field-passphrase-8',
      email: 'gwen@example.com',
    });
    const login = await fetch(`${t.origin}/authentication/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'gwen', password: 'Amber-field-passphrase-8' }),
    });
    const res = await fetch(`${t.origin}/authentication/email/verification`, {
      method: 'POST',
      headers: { ...json, cookie: `gatehouse_session=${sessionCookieOf(login)}` },
      body: '{}',
    });
    assert.equal(res.status, 502);
    assert.equal(await errorOf(res), 'IDP_MAIL_FAILED');
    assert.equal(smtp.received.length, 0);
    const rows = await t.sql.query('select 1 from idp_recovery_tokens');
    assert.equal(rows.length, 0);
  });
});

describe('the development mailbox', () => {
  let t: AccountsIdp;
  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
  });
  after(() => t?.close());

  test('without SMTP in development mode, mail lands in the mailbox page with its links', async () => {
    const res = await fetch(`${t.origin}/authentication/password/forgot`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: 'alice@example.com' }),
    });
    assert.equal(res.status, 202);
    let html = '';
    for (let i = 0; i < 50 && !html.includes('/authentication/recovery/reset?token'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      html = await (await fetch(`${t.origin}/authentication/dev/mailbox`)).text();
    }
    const link = /href="([^"]*\/authentication\/recovery\/reset\?token[^"]+)"/.exec(html)?.[1];
    assert.ok(link, 'the reset link is on the mailbox page');
    const page = await fetch(link!.replace(/&#61;/g, '='));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Choose a new password/);
  });
});

describe('mail and recovery configuration', () => {
  test('is validated: bad values are IDP_CONFIG_INVALID', () => {
    for (const bad of [
      { smtp: { host: 'mail.example.com', port: 0 } },
      { smtp: { host: 'mail.example.com', user: 'gatehouse' } },
      { smtp: { port: 587 } },
      { accentColor: 'red' },
      { linkBaseUrl: 'https://example.com/path' },
      { unknown: true },
    ]) {
      assert.throws(() => resolveMailConfig(bad), { code: 'IDP_CONFIG_INVALID' }, JSON.stringify(bad));
    }
    assert.equal(resolveMailConfig({ smtp: { host: 'mail.example.com' } }).smtp?.port, 587);
    assert.throws(() => resolveRecoveryConfig({ resetTtlSeconds: 10 }), { code: 'IDP_CONFIG_INVALID' });
  });

  test('the links point at linkBaseUrl or the issuer origin; production refuses a link in clear', () => {
    const issuer = 'https://id.example.com/auth';
    assert.equal(mailLinkBase(resolveMailConfig({}), issuer, 'production'), 'https://id.example.com');
    const shop = resolveMailConfig({ linkBaseUrl: 'https://shop.example.com' });
    assert.equal(mailLinkBase(shop, issuer, 'production'), 'https://shop.example.com');
    const clear = resolveMailConfig({ linkBaseUrl: 'http://shop.example.com' });
    assert.equal(mailLinkBase(clear, issuer, 'development'), 'http://shop.example.com');
    assert.throws(() => mailLinkBase(clear, issuer, 'production'), { code: 'IDP_CONFIG_INVALID' });
  });

  test('production without SMTP sends nothing and has no mailbox', async () => {
    const mailer = createMailer({
      config: resolveMailConfig({}),
      mode: 'production',
      logger: silentLogger(),
    });
    assert.equal(mailer.enabled, false);
    assert.equal(mailer.mailbox, undefined);
    await assert.rejects(mailer.send({ to: 'a@example.com', subject: 's', text: 't', html: 'h' }));
  });
});
