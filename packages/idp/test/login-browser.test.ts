import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumSkip, launchChromium } from '../../../test/support/chromium.ts';
import { clientMetadataFromConfig, upsertClient } from '../src/protocol/clients.ts';
import { type AccountsIdp, startAccountsIdp } from './accounts-harness.ts';

const skip = chromiumSkip('the hosted login browser tests');

describe('hosted login in a real browser (Chromium)', { skip }, () => {
  let t: AccountsIdp;
  let browser: Browser;
  // The relying party's callback: a real server, because a browser follows the 303 there itself.
  let rp: Server;
  let callbackUrl: string;
  const callbacks: URL[] = [];
  before(async () => {
    t = await startAccountsIdp({ accounts: { bruteForce: { enabled: false } } });
    rp = createServer((req, res) => {
      const url = new URL(req.url ?? '/', callbackUrl);
      // Chromium also asks this origin for /favicon.ico: only the callback counts.
      if (url.pathname === '/callback') callbacks.push(url);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('callback reached');
    });
    await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(rp.address() as AddressInfo).port}/callback`;
    await upsertClient(
      t.sql,
      clientMetadataFromConfig({
        clientId: 'browser-app',
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

  function authorizationUrl(): string {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${t.origin}/auth/auth`);
    url.search = new URLSearchParams({
      client_id: 'browser-app',
      response_type: 'code',
      redirect_uri: callbackUrl,
      scope: 'openid profile',
      state: 'browser-state',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  test('alice signs in with the keyboard only, on a phone-sized screen, and reaches the client', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 640 } });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(authorizationUrl(), { timeout: 30_000 });

    // Labels name the fields (what a screen reader announces).
    assert.equal(await page.getByLabel('Username').getAttribute('autocomplete'), 'username');
    assert.equal(await page.getByLabel('Password').getAttribute('autocomplete'), 'current-password');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    // The username field has focus on arrival; Tab walks username → password → Sign in → Cancel.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'username');
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page.keyboard.press('Tab');
      order.push(
        await page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent || ''),
      );
    }
    assert.deepEqual(order, ['password', 'Sign in', 'Cancel']);
    // Readable on a phone: nothing wider than the screen.
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360));
    // The inline styles are allowed by the page's CSP (they applied: the button is styled).
    assert.notEqual(
      await page
        .locator('button[type=submit]')
        .first()
        .evaluate((b) => getComputedStyle(b).backgroundColor),
      'rgba(0, 0, 0, 0)',
    );

    await page.getByLabel('Username').focus();
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    await page.keyboard.type('alice-password');
    await Promise.all([
      page.waitForURL(`${callbackUrl}?**`, { timeout: 30_000 }),
      page.keyboard.press('Enter'),
    ]);
    const callback = callbacks.at(-1);
    assert.ok(callback, 'the browser reached the client callback');
    assert.equal(callback.searchParams.get('state'), 'browser-state');
    assert.ok(callback.searchParams.get('code'));
    assert.deepEqual(cspViolations, []);
    await context.close();
  });

  test('a wrong password is announced in an alert tied to the fields, and focus stays usable', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(authorizationUrl(), { timeout: 30_000 });
    // The username field has autofocus; wait until the browser has applied it before typing, or
    // the first keystrokes can land nowhere on a loaded machine.
    await page.waitForFunction(() => document.activeElement?.id === 'username', undefined, {
      timeout: 30_000,
    });
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    await page.keyboard.type('not-the-password');
    await Promise.all([page.waitForLoadState('load'), page.keyboard.press('Enter')]);
    await page.getByRole('alert').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByRole('alert').textContent(), 'Username or password is wrong');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-describedby'), 'login-error');
    // The typed username is kept and the password field has focus for the retry.
    assert.equal(await page.getByLabel('Username').inputValue(), 'alice');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
    await context.close();
  });
});
