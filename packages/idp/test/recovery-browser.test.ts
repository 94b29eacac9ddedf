import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, passwordStep } from '../../../test/support/chromium.ts';
import {
  type AccountsIdp,
  authorizationRequest,
  sessionCookieOf,
  startAccountsIdp,
  tokensFor,
} from './accounts-harness.ts';
import { headerOf, linkIn, startSmtp, type TestSmtp, textOf } from './smtp-harness.ts';

// Email verification and password reset end to end: the identity provider sends its mail to a real
// SMTP server on loopback, and Chromium opens the links from the received messages.
const skip = chromiumSkip('the account recovery browser tests');

describe('account recovery from the mail (Chromium, SMTP)', { skip, timeout: 180_000 }, () => {
  let t: AccountsIdp;
  let smtp: TestSmtp;
  let browser: Browser;
  before(async () => {
    smtp = await startSmtp();
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      idp: {
        mail: {
          smtp: { host: '127.0.0.1', port: smtp.port, requireTls: false },
          from: 'Gatehouse <no-reply@example.test>',
        },
        recovery: { mailsPerHour: 20, requestsPerHourPerIp: 1000 },
      },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    await smtp?.close();
  });

  async function newPage(): Promise<Page> {
    return (await browser.newContext()).newPage();
  }

  async function userinfo(accessToken: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${t.origin}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }

  const post = (path: string, body: Record<string, string>, cookie?: string) =>
    fetch(`${t.origin}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: t.origin,
        ...(cookie ? { cookie: `gatehouse_session=${cookie}` } : {}),
      },
      body: JSON.stringify(body),
    });

  test('a registration sends a verification link; email_verified is true only after it is opened, once', async () => {
    const res = await post('/authentication/registration', {
      username: 'carol',
      password: 'Tulip-garden-passphrase-1',
      email: 'Carol@Example.org',
    });
    assert.equal(res.status, 201);
    const mail = await smtp.next('carol@example.org');
    assert.match(headerOf(mail.raw, 'Subject') ?? '', /Confirm your email address/);
    assert.match(headerOf(mail.raw, 'From') ?? '', /no-reply@example\.test/);
    assert.match(mail.raw, /Content-Type: text\/html/i);
    const link = linkIn(mail, '/authentication/recovery/verify');

    const before = await tokensFor(t, 'carol', 'Tulip-garden-passphrase-1', { scope: 'openid email' });
    const claimsBefore = await userinfo(before.access_token);
    assert.equal(claimsBefore['email'], 'Carol@Example.org');
    assert.equal(claimsBefore['email_verified'], false);

    const page = await newPage();
    const opened = await page.goto(link.toString());
    assert.equal(opened?.status(), 200);
    await page.getByRole('heading', { name: 'Email address confirmed' }).waitFor();

    const afterTokens = await tokensFor(t, 'carol', 'Tulip-garden-passphrase-1', { scope: 'openid email' });
    assert.equal((await userinfo(afterTokens.access_token))['email_verified'], true);

    // The same link a second time: refused, with its code.
    const again = await page.goto(link.toString());
    assert.equal(again?.status(), 400);
    await page.getByText('IDP_RECOVERY_TOKEN_USED').waitFor();
    await page.context().close();
  });

  test('password reset from the mail: the link works once, the new password signs in, old sessions and refresh tokens are refused', async () => {
    // What bob holds before: a first-party session and a refresh token.
    const login = await post('/authentication/login', { username: 'bob', password: 'bob-password' });
    assert.equal(login.status, 200);
    const oldSession = sessionCookieOf(login)!;
    const old = await tokensFor(t, 'bob', 'bob-password', {
      scope: 'openid offline_access',
      prompt: 'consent',
    });
    assert.ok(old.refresh_token, 'a refresh token before the reset');

    const page = await newPage();
    // From the login page's link.
    await page.goto(authorizationRequest(t).url.toString());
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email address').fill('bob@example.com');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();

    const mail = await smtp.next('bob@example.com');
    assert.match(headerOf(mail.raw, 'Subject') ?? '', /Reset your Gatehouse password/);
    const link = linkIn(mail, '/authentication/recovery/reset');
    // The mail carries the token; the database holds only its SHA-256.
    const stored = await t.sql.query<{ token_hash: string }>(
      `select token_hash from idp_recovery_tokens where purpose = 'password-reset'`,
    );
    assert.ok(stored.length > 0);
    assert.ok(stored.every((r) => r.token_hash !== link.searchParams.get('token')));

    await page.goto(link.toString());
    // A password the policy refuses: the form again with the code; the link still works.
    await page.getByLabel('New password').fill('short');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByText('IDP_PASSWORD_TOO_SHORT').waitFor();
    await page.getByLabel('New password').fill('Harbour-lights-passphrase-7');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.getByRole('heading', { name: 'Password changed' }).waitFor();

    const notice = await smtp.next('bob@example.com');
    assert.match(headerOf(notice.raw, 'Subject') ?? '', /password was changed/);
    assert.match(textOf(notice.raw), /every session signed in with the old one was ended/);

    // The link a second time: refused.
    const reused = await page.goto(link.toString());
    assert.equal(reused?.status(), 400);
    await page.getByText('IDP_RECOVERY_TOKEN_USED').waitFor();
    await page.context().close();

    // What bob held before is refused.
    const whoami = await fetch(`${t.origin}/authentication/whoami`, {
      headers: { cookie: `gatehouse_session=${oldSession}` },
    });
    assert.equal(whoami.status, 401);
    const refresh = await fetch(`${t.origin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: old.refresh_token!,
        client_id: 'demo-app',
      }),
    });
    assert.equal(refresh.status, 400);
    assert.equal(((await refresh.json()) as { error: string }).error, 'invalid_grant');
    const oldPassword = await post('/authentication/login', { username: 'bob', password: 'bob-password' });
    assert.equal(oldPassword.status, 401);
    assert.equal(((await oldPassword.json()) as { error: string }).error, 'IDP_INVALID_CREDENTIALS');

    // Revocations name tokens issued up to one second after the reset: sign in after that.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // The new password signs in on the hosted login page.
    const signIn = await newPage();
    let callback: URL | undefined;
    await signIn.route('http://localhost:8080/callback**', async (route) => {
      callback = new URL(route.request().url());
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback reached' });
    });
    await signIn.goto(authorizationRequest(t).url.toString());
    await passwordStep(signIn, 'bob', 'Harbour-lights-passphrase-7');
    await signIn.getByText('callback reached').waitFor();
    assert.ok(callback?.searchParams.get('code'), 'the client got a code');
    await signIn.context().close();
  });

  test('an expired reset link is refused and changes nothing', async () => {
    const res = await post('/authentication/password/forgot', { email: 'alice@example.com' });
    assert.equal(res.status, 202);
    const link = linkIn(await smtp.next('alice@example.com'), '/authentication/recovery/reset');
    await t.sql.query(
      `update idp_recovery_tokens set expires_at = now() - interval '1 second' where used_at is null`,
    );
    const page = await newPage();
    const opened = await page.goto(link.toString());
    assert.equal(opened?.status(), 400);
    await page.getByText('IDP_RECOVERY_TOKEN_EXPIRED').waitFor();
    await page.context().close();
    const reset = await post('/authentication/password/reset', {
      token: link.searchParams.get('token')!,
      password: 'Maple-river-passphrase-9',
    });
    assert.equal(reset.status, 400);
    assert.equal(((await reset.json()) as { error: string }).error, 'IDP_RECOVERY_TOKEN_EXPIRED');
    const login = await post('/authentication/login', { username: 'alice', password: 'alice-password' });
    assert.equal(login.status, 200, 'the old password still works');
  });

  test('the answer for an unknown address equals the one for a known address; only the known one gets mail', async () => {
    const answer = async (email: string) => {
      const started = performance.now();
      const res = await post('/authentication/password/forgot', { email });
      const ms = performance.now() - started;
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text(), ms };
    };
    const known: number[] = [];
    const unknown: number[] = [];
    let first: Awaited<ReturnType<typeof answer>> | undefined;
    for (let i = 0; i < 7; i++) {
      const k = await answer('alice@example.com');
      // Each sample on its own: the known address's mail is out before the next request.
      await smtp.next('alice@example.com');
      const u = await answer(`nobody-${i}@example.com`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual({ ...u, ms: 0 }, { ...k, ms: 0 });
      first ??= k;
      known.push(k.ms);
      unknown.push(u.ms);
    }
    assert.equal(first?.status, 202);
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // The lookup and the mail happen after the answer: the two take the same path until then.
    assert.ok(
      Math.abs(median(known) - median(unknown)) < 25,
      `medians ${median(known).toFixed(1)} ms (known) and ${median(unknown).toFixed(1)} ms (unknown)`,
    );
    assert.equal(
      smtp.received.filter((m) => m.to.some((to) => to.startsWith('nobody-'))).length,
      0,
      'no mail for an address no account has',
    );
  });
});
