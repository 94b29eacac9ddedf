// The admin console where the MFA policy asks a second factor of admins (idp.mfa.requiredRoles:
// [admin]), in Chromium on `gatehouse dev`: signing in to /admin as the console's own client needs
// the second factor (an admin without one sets it up first), and the page it lands on passes axe.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generate } from 'otplib';
import { type Browser, chromium, type Page } from 'playwright-core';
import { axeViolations, CHROMIUM, chromiumSkipReason, signIn } from './support/console-browser.ts';
import { type DevStack, startDevStack } from './support/dev-process.ts';
import { userAccessToken } from './support/user-token.ts';

const skipReason = () => chromiumSkipReason('the admin console MFA test');

describe('admin console behind the MFA policy', { skip: skipReason(), timeout: 300_000 }, () => {
  let stack: DevStack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    stack = await startDevStack({ GATEHOUSE_IDP__MFA__REQUIRED_ROLES: '[admin]' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await (await browser.newContext({ bypassCSP: true })).newPage();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('an admin signing in to /admin must use a second factor (set up at sign-in when missing)', async () => {
    const authorizations: URL[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname === '/auth/auth') authorizations.push(url);
    });
    await page.goto(`${stack.origin}/admin/users`);
    await signIn(page, 'alice');
    // alice has no authenticator: the policy makes her set one up before she gets in.
    await page.waitForSelector('#totp-secret');
    assert.equal(await page.locator('h1').textContent(), 'Set up two-step verification');
    const secret = (await page.locator('#totp-secret').textContent()) ?? '';
    await page.fill('input[name="code"]', await generate({ secret }));
    await page.click('button:text("Turn on")');
    await page.waitForSelector('#recovery-codes');
    await page.click('button:text("Continue")');
    await page.waitForURL((url) => url.pathname === '/admin/users');
    assert.equal(await page.locator('h1').textContent(), 'Users');
    assert.deepEqual(await axeViolations(page), []);
    assert.ok(authorizations.length > 0);
    assert.ok(authorizations.every((a) => a.searchParams.get('client_id') === 'gatehouse-console'));
  });

  test('the console route asks the gateway for the MFA level: a password-only token is sent to step up', async () => {
    // A person's token at the password level (bob has no second factor), as an API client would send
    // it, is refused with the RFC 9470 challenge naming the level the console needs; a browser on
    // its session is sent to sign in again at that level instead (the gateway's own tests).
    const token = await userAccessToken(stack.origin, { username: 'bob', password: 'bob-password' });
    const res = await fetch(`${stack.origin}/admin/users`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /insufficient_user_authentication/);
    assert.match(res.headers.get('www-authenticate') ?? '', /acr_values="urn:gatehouse:acr:mfa"/);
  });
});
