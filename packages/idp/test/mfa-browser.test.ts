import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, launchChromium, passwordStep } from '../../../test/support/chromium.ts';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { type AccountsIdp, startAccountsIdp } from './accounts-harness.ts';

// The second factor on the hosted pages, in Chromium: an admin (the role policy wants a second
// factor) sets up an authenticator at sign-in, then signs in with codes and a recovery code; the
// ID token says how (`amr`).
const skip = chromiumSkip('the second factor browser tests');

const now = () => Math.floor(Date.now() / 1000);

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

describe('second factor on the hosted pages (Chromium)', { skip, timeout: 180_000 }, () => {
  let t: AccountsIdp;
  let browser: Browser;
  let rp: Server;
  let callbackUrl: string;
  let secret: string;
  let recoveryCodes: string[] = [];
  before(async () => {
    t = await startAccountsIdp({
      accounts: { bruteForce: { enabled: false } },
      idp: { mfa: { requiredRoles: ['admin'] } },
    });
    rp = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('callback reached'),
    );
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}/callback`;
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'mfa-browser-app',
        tokenEndpointAuthMethod: 'none',
        grantTypes: ['authorization_code'],
        redirectUris: [callbackUrl],
        postLogoutRedirectUris: [],
        scope: 'openid profile',
        roles: [],
        firstParty: true,
      }),
      'admin',
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    rp?.closeAllConnections();
    await new Promise<void>((resolve) => (rp ? rp.close(() => resolve()) : resolve()));
    await t?.close();
  });

  /** A fresh browser at the login page, signed in with a password; resolves to the page and the PKCE verifier. */
  async function signIn(username: string, password: string): Promise<{ page: Page; verifier: string }> {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${t.origin}/auth/auth`);
    url.search = new URLSearchParams({
      client_id: 'mfa-browser-app',
      response_type: 'code',
      redirect_uri: callbackUrl,
      scope: 'openid profile',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url.toString(), { timeout: 30_000 });
    await passwordStep(page, username, password);
    return { page, verifier };
  }

  /** Follow the browser to the client and redeem its code: the ID token's claims. */
  async function idTokenAt(page: Page, verifier: string): Promise<Record<string, unknown>> {
    await page.waitForURL(`${callbackUrl}?**`, { timeout: 30_000 });
    const code = new URL(page.url()).searchParams.get('code')!;
    const res = await fetch(`${t.origin}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: callbackUrl,
        client_id: 'mfa-browser-app',
        code_verifier: verifier,
      }),
    });
    assert.equal(res.status, 200);
    await page.context().close();
    return decodeJwt(((await res.json()) as { id_token: string }).id_token);
  }

  async function submitCode(page: Page, code: string): Promise<void> {
    await page.getByLabel('Code from your authenticator app').fill(code);
    await Promise.all([
      page.waitForLoadState('load'),
      page.getByRole('button', { name: /Verify|Turn on/ }).click(),
    ]);
  }

  test('an admin without a second factor is asked to set one up: QR code and key, recovery codes once, then the client', async () => {
    const { page, verifier } = await signIn('alice', 'alice-password');
    const csp: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) csp.push(m.text());
    });
    await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor({ timeout: 30_000 });
    assert.ok(await page.locator('figure svg').isVisible(), 'the QR code is drawn');
    secret = (await page.locator('#totp-secret').textContent())!;
    assert.match(secret, /^[A-Z2-7]{32}$/);

    await submitCode(page, await wrongCode(secret));
    assert.equal(await page.getByRole('alert').textContent(), 'The code is wrong or was already used');
    // The same key is shown again after a wrong code: the app already scanned stays right.
    assert.equal(await page.locator('#totp-secret').textContent(), secret);

    await submitCode(page, await generate({ secret }));
    await page.getByRole('heading', { name: 'Save your recovery codes' }).waitFor({ timeout: 30_000 });
    recoveryCodes = await page.locator('#recovery-codes code').allTextContents();
    assert.equal(recoveryCodes.length, 10);
    await page.getByRole('button', { name: 'Continue' }).click();
    const claims = await idTokenAt(page, verifier);
    assert.deepEqual(claims['amr'], ['pwd', 'otp', 'mfa']);
    assert.deepEqual(csp, []);
  });

  test('the next sign-in asks for a code; a wrong one is announced; the right one reaches the client with amr otp and mfa', async () => {
    const { page, verifier } = await signIn('alice', 'alice-password');
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'code');
    assert.equal(
      await page.getByLabel('Code from your authenticator app').getAttribute('autocomplete'),
      'one-time-code',
    );
    const right = await generate({ secret, epoch: now() + 30 });
    await submitCode(page, await wrongCode(secret));
    assert.equal(await page.getByRole('alert').textContent(), 'The code is wrong or was already used');
    await submitCode(page, right);
    const claims = await idTokenAt(page, verifier);
    assert.deepEqual(claims['amr'], ['pwd', 'otp', 'mfa']);

    // The same code once more, in another browser: a replay, refused.
    const again = await signIn('alice', 'alice-password');
    await submitCode(again.page, right);
    assert.equal(await again.page.getByRole('alert').textContent(), 'The code is wrong or was already used');
    await again.page.context().close();
  });

  test('a recovery code signs in once', async () => {
    const first = await signIn('alice', 'alice-password');
    await first.page.getByLabel('Or a recovery code').fill(recoveryCodes[0]!);
    await first.page.getByRole('button', { name: 'Use recovery code' }).click();
    assert.deepEqual((await idTokenAt(first.page, first.verifier))['amr'], ['pwd', 'otp', 'mfa']);

    const second = await signIn('alice', 'alice-password');
    await second.page.getByLabel('Or a recovery code').fill(recoveryCodes[0]!);
    await Promise.all([
      second.page.waitForLoadState('load'),
      second.page.getByRole('button', { name: 'Use recovery code' }).click(),
    ]);
    assert.equal(await second.page.getByRole('alert').textContent(), 'The code is wrong or was already used');
    await second.page.context().close();
  });

  test('a person without a second factor and no role that needs one goes straight on, with amr pwd', async () => {
    const { page, verifier } = await signIn('bob', 'bob-password');
    assert.deepEqual((await idTokenAt(page, verifier))['amr'], ['pwd']);
  });
});
