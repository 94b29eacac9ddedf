// The account page at /account in Chromium on `gatehouse dev`: alice and bob sign in through it and
// manage themselves (password, authenticator app, passkeys, sessions, applications, linked
// providers); bad
// input is refused at its field and changes nothing; cross-site posts and framing are refused;
// axe-core finds no serious or critical violation, light and dark, at phone width too.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { generate } from 'otplib';
import type { APIRequestContext, Browser, BrowserContext, Page } from 'playwright-core';
import { addVirtualAuthenticator, chromiumSkip, launchChromium, passwordStep } from './support/chromium.ts';
import { type DevStack, startDevStack } from './support/dev-process.ts';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

async function signIn(page: Page, username: string, password = `${username}-password`): Promise<void> {
  await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
  await passwordStep(page, username, password);
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe('account page in Chromium', {
  skip: chromiumSkip('the account page test'),
  timeout: 900_000,
}, () => {
  let stack: DevStack;
  let browser: Browser;
  let alice: BrowserContext;
  let bob: BrowserContext;
  let alicePage: Page;
  let bobPage: Page;

  /** A first-party session of the session API (cookie) in a request context of its own. */
  async function apiLogin(username: string, password: string): Promise<APIRequestContext> {
    const ctx = (await browser.newContext()).request;
    const res = await ctx.post(`${stack.origin}/authentication/login`, {
      form: { username, password },
      headers: { origin: stack.origin },
    });
    assert.equal(res.status(), 200, `${username} signs in with ${password}`);
    return ctx;
  }

  async function passwordWorks(username: string, password: string): Promise<boolean> {
    const res = await fetch(`${stack.origin}/authentication/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: stack.origin },
      body: JSON.stringify({ username, password }),
    });
    return res.status === 200;
  }

  before(async () => {
    stack = await startDevStack();
    browser = await launchChromium();
    // axe is injected as a script, which the page's own CSP (rightly) forbids.
    alice = await browser.newContext({ bypassCSP: true });
    bob = await browser.newContext({ bypassCSP: true });
    alicePage = await alice.newPage();
    bobPage = await bob.newPage();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('a signed-out visitor to /account signs in and comes back to it', async () => {
    await alicePage.goto(`${stack.origin}/account`);
    await signIn(alicePage, 'alice');
    await alicePage.waitForURL((url) => url.pathname === '/account');
    assert.equal(await alicePage.locator('h1').textContent(), 'Your account');
    const profile = await alicePage.locator('#profile dl').textContent();
    assert.match(profile ?? '', /alice/);
    assert.match(profile ?? '', /alice@example\.com/);
    assert.deepEqual(await axeViolations(alicePage), []);
  });

  test('a wrong current password is refused at its field and changes nothing', async () => {
    await alicePage.fill('#password-currentPassword', 'not-alices-password');
    await alicePage.fill('#password-newPassword', 'a-brand-new-passphrase-9');
    const [response] = await Promise.all([
      alicePage.waitForResponse((r) => r.url().endsWith('/account/password')),
      alicePage.click('text=Change password'),
    ]);
    assert.equal(response.status(), 403);
    const error = alicePage.locator('#password-currentPassword-error');
    assert.match((await error.textContent()) ?? '', /IDP_CURRENT_PASSWORD_WRONG/);
    assert.equal(await alicePage.locator('#password-currentPassword').getAttribute('aria-invalid'), 'true');
    assert.equal(await alicePage.locator('#password-currentPassword').inputValue(), '', 'no password echoed');
    assert.equal(await passwordWorks('alice', 'alice-password'), true, 'the old password still works');
    assert.equal(await passwordWorks('alice', 'a-brand-new-passphrase-9'), false);
    assert.deepEqual(await axeViolations(alicePage), [], 'the page with an error passes axe');
  });

  test('a new password the policy refuses is refused at the new password field', async () => {
    await alicePage.fill('#password-currentPassword', 'alice-password');
    await alicePage.fill('#password-newPassword', 'short');
    await alicePage.click('text=Change password');
    assert.match(
      (await alicePage.locator('#password-newPassword-error').textContent()) ?? '',
      /IDP_PASSWORD_TOO_SHORT/,
    );
    assert.equal(await passwordWorks('alice', 'alice-password'), true);
  });

  test('alice sets up an authenticator app, gets new recovery codes and removes it', async () => {
    await alicePage.goto(`${stack.origin}/account`);
    await alicePage.click('text=Set up an authenticator app');
    assert.equal(await alicePage.locator('h1').textContent(), 'Set up an authenticator app');
    const secret = (await alicePage.locator('#totp-secret').textContent())!;
    assert.deepEqual(await axeViolations(alicePage), []);
    // A wrong code: refused at the field, the same key shown again.
    await alicePage.fill('#totp-code', '000000');
    await alicePage.click('text=Turn on');
    assert.match((await alicePage.locator('#totp-code-error').textContent()) ?? '', /IDP_MFA_CODE_INVALID/);
    assert.equal(await alicePage.locator('#totp-secret').textContent(), secret);
    await alicePage.fill('#totp-code', await generate({ secret }));
    await alicePage.click('text=Turn on');
    const first = await alicePage.locator('#recovery-codes li').allTextContents();
    assert.equal(first.length, 10);
    await alicePage.click('text=Back to your account');
    assert.match((await alicePage.locator('#factors').textContent()) ?? '', /Authenticator app: on/);
    await alicePage.click('text=Make new recovery codes');
    const second = await alicePage.locator('#recovery-codes li').allTextContents();
    assert.equal(second.length, 10);
    assert.equal(second.filter((c) => first.includes(c)).length, 0, 'every code is new');
    await alicePage.goto(`${stack.origin}/account`);
    await alicePage.click('text=Remove the authenticator app');
    assert.equal(await alicePage.locator('.notice').textContent(), 'Authenticator app removed.');
    assert.match((await alicePage.locator('#factors').textContent()) ?? '', /Authenticator app: off/);
  });

  test('bob signs in, changes his password, and only the new one works', async () => {
    await bobPage.goto(`${stack.origin}/account`);
    await signIn(bobPage, 'bob');
    await bobPage.waitForURL((url) => url.pathname === '/account');
    assert.match((await bobPage.locator('#profile dl').textContent()) ?? '', /bob@example\.com/);
    await bobPage.fill('#password-currentPassword', 'bob-password');
    await bobPage.fill('#password-newPassword', 'bobs-unusual-passphrase-42');
    await bobPage.click('text=Change password');
    assert.equal(await bobPage.locator('.notice').textContent(), 'Password changed.');
    assert.equal(await passwordWorks('bob', 'bob-password'), false);
    assert.equal(await passwordWorks('bob', 'bobs-unusual-passphrase-42'), true);
  });

  test('bob sees his sessions and signs out another one, then all others', async () => {
    const phone = await browser.newContext();
    const phonePage = await phone.newPage();
    await phonePage.goto(`${stack.origin}/account`);
    await signIn(phonePage, 'bob', 'bobs-unusual-passphrase-42');
    await phonePage.waitForURL((url) => url.pathname === '/account');
    const api = await apiLogin('bob', 'bobs-unusual-passphrase-42');

    await bobPage.goto(`${stack.origin}/account#sessions`);
    const items = bobPage.locator('#sessions li');
    assert.ok((await items.count()) >= 3, 'this browser, the phone and the API session');
    assert.equal(await bobPage.locator('#sessions li:has-text("This session")').count(), 1);
    // The phone's sign-in is the newest browser sign-in that is not this one.
    const phoneItem = bobPage
      .locator('#sessions li:has-text("Browser sign-in"):not(:has-text("This session"))')
      .first();
    await phoneItem.getByRole('button', { name: /^Sign out session/ }).click();
    assert.equal(await bobPage.locator('.notice').textContent(), 'Session signed out.');
    // The phone is signed out: its next visit goes to the sign-in page.
    await phonePage.goto(`${stack.origin}/account`);
    await phonePage.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
    assert.equal((await api.get(`${stack.origin}/authentication/whoami`)).status(), 200);

    await bobPage.click('text=Sign out all other sessions');
    assert.equal(await bobPage.locator('.notice').textContent(), 'Every other session is signed out.');
    assert.equal((await api.get(`${stack.origin}/authentication/whoami`)).status(), 401);
    assert.equal(await bobPage.locator('#sessions li').count(), 1, 'only this session is left');
    await phone.close();
  });

  test("bob revokes an application's access", async () => {
    // alice (admin) registers a third-party application in the admin console; bob lets it in on the
    // consent page.
    await alicePage.goto(`${stack.origin}/admin/clients`);
    await alicePage.fill('#new-client-clientId', 'photo-printer');
    await alicePage.fill('#new-client-redirectUris', 'https://printer.example/callback');
    await alicePage.click('text=Create client');
    const refused = (await alicePage.locator('.field-error, .form-error').allTextContents()).join(' ');
    assert.match((await alicePage.locator('h1').textContent()) ?? '', /photo-printer/, refused);
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${stack.origin}/auth/auth`);
    authorize.search = new URLSearchParams({
      client_id: 'photo-printer',
      response_type: 'code',
      scope: 'openid profile',
      redirect_uri: 'https://printer.example/callback',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 'x',
    }).toString();
    // The application's callback is not reachable here: the browser is stopped on its way there.
    await bobPage.route('https://printer.example/**', (route) => route.fulfill({ status: 200, body: 'ok' }));
    await bobPage.goto(authorize.href);
    if (
      new URL(bobPage.url()).pathname.includes('/interaction/') &&
      (await bobPage.locator('#username').count())
    ) {
      await signIn(bobPage, 'bob', 'bobs-unusual-passphrase-42');
    }
    await bobPage.getByRole('button', { name: 'Allow' }).click();
    await bobPage.waitForURL((url) => url.hostname === 'printer.example');

    await bobPage.goto(`${stack.origin}/account#applications`);
    const app = bobPage.locator('#applications li:has-text("photo-printer")');
    assert.equal(await app.count(), 1);
    assert.deepEqual(await axeViolations(bobPage), []);
    await app.getByRole('button', { name: /^Revoke access/ }).click();
    assert.equal(await bobPage.locator('.notice').textContent(), 'Access revoked.');
    assert.equal(await bobPage.locator('#applications li:has-text("photo-printer")').count(), 0);
    await alicePage.goto(`${stack.origin}/admin/audit?type=grant.revoked`);
    assert.match((await alicePage.locator('tbody').textContent()) ?? '', /photo-printer/);
  });

  test('bob links Example Corp through its sign-in, then unlinks it', async () => {
    await bobPage.goto(`${stack.origin}/account#identities`);
    await bobPage.getByRole('button', { name: 'Link Example Corp' }).click();
    await bobPage.getByLabel('Example Corp username').fill('sam');
    await bobPage.getByLabel('Password').fill('sam-example-corp');
    await bobPage.getByRole('button', { name: 'Sign in to Example Corp' }).click();
    await bobPage.waitForURL((url) => url.pathname === '/account' && url.search === '?done=linked');
    assert.match((await bobPage.locator('#identities').textContent()) ?? '', /Example Corp: linked as sam/);
    await bobPage.getByRole('button', { name: 'Unlink Example Corp' }).click();
    assert.equal(await bobPage.locator('.notice').textContent(), 'Provider unlinked.');
    assert.match((await bobPage.locator('#identities').textContent()) ?? '', /Example Corp: not linked/);
  });

  test('cross-site posts and posts without the form token are refused and change nothing', async () => {
    const endOthers = `${stack.origin}/account/sessions/end-others`;
    const csrf = await bobPage.locator('input[name=csrf]').first().inputValue();
    const api = await apiLogin('bob', 'bobs-unusual-passphrase-42');
    const crossSite = await bob.request.post(endOthers, {
      form: { csrf },
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(crossSite.status(), 403);
    assert.match(await crossSite.text(), /IDP_CSRF_REJECTED/);
    const noToken = await bob.request.post(endOthers, { form: {}, headers: { origin: stack.origin } });
    assert.equal(noToken.status(), 403);
    assert.match(await noToken.text(), /IDP_CSRF_REJECTED/);
    const wrongToken = await bob.request.post(endOthers, {
      form: { csrf: 'x'.repeat(43) },
      headers: { origin: stack.origin },
    });
    assert.equal(wrongToken.status(), 403);
    assert.equal((await api.get(`${stack.origin}/authentication/whoami`)).status(), 200, 'nothing ended');
  });

  test('the page is never framed, has a strict CSP, and reads at phone width, 200 % zoom and in dark', async () => {
    const res = await bob.request.get(`${stack.origin}/account`);
    assert.equal(res.status(), 200);
    const csp = res.headers()['content-security-policy'] ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(res.headers()['x-frame-options'], 'DENY');

    await bobPage.setViewportSize({ width: 360, height: 740 });
    await bobPage.emulateMedia({ colorScheme: 'dark' });
    await bobPage.goto(`${stack.origin}/account`);
    const overflow = await bobPage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scroll at phone width (overflow ${overflow}px)`);
    assert.deepEqual(await axeViolations(bobPage), [], 'dark, phone width');
    // 200 % zoom of a 1280-wide window is a 640-wide layout.
    await bobPage.setViewportSize({ width: 640, height: 400 });
    await bobPage.evaluate(() => {
      document.body.style.zoom = '2';
    });
    const zoomed = await bobPage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(zoomed <= 0, `no sideways scroll at 200 % (overflow ${zoomed}px)`);
  });

  test('the keyboard reaches every action in reading order', async () => {
    await bobPage.setViewportSize({ width: 1280, height: 800 });
    await bobPage.emulateMedia({ colorScheme: 'light' });
    await bobPage.goto(`${stack.origin}/account`);
    const reached: string[] = [];
    for (let i = 0; i < 40; i++) {
      await bobPage.keyboard.press('Tab');
      reached.push(
        await bobPage.evaluate(
          () =>
            document.activeElement?.textContent?.trim() ||
            (document.activeElement as HTMLInputElement | null)?.id ||
            '',
        ),
      );
    }
    for (const expected of [
      'Sign out',
      'Profile',
      'Change email',
      'password-currentPassword',
      'Change password',
    ]) {
      assert.ok(reached.includes(expected), `Tab reaches ${expected}: ${reached.join(' | ')}`);
    }
  });

  test('alice adds a passkey, renames it, signs in with it as second factor and alone, then removes it', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    const { cdp, authenticatorId } = await addVirtualAuthenticator(context, page);
    const presence = (enabled: boolean) =>
      cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
    const passkeys = () => page.locator('#factors ul.items li');
    const atAccount = async () => {
      try {
        await page.waitForURL((url) => url.pathname === '/account', { timeout: 60_000 });
      } catch (err) {
        const said = await page.locator('h1, [role=alert], .notice').allTextContents();
        throw new Error(`not back at /account: at ${page.url()}, the page says ${said.join(' | ')}`, {
          cause: err,
        });
      }
    };
    await page.goto(`${stack.origin}/account`);
    await signIn(page, 'alice');
    await atAccount();
    assert.match((await page.locator('#factors').textContent()) ?? '', /No passkeys yet/);

    // The page's script asks for creation options, the authenticator makes the key, the form posts it.
    await page.fill('#passkey-name', 'Laptop');
    await page.click('text=Add a passkey');
    await page.locator('.notice').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.notice').textContent(), 'Passkey added.');
    assert.equal(await passkeys().count(), 1);
    assert.match((await passkeys().textContent()) ?? '', /Laptop/);
    const stored = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    assert.equal(stored.length, 1, 'the authenticator holds the new key');
    assert.equal(stored[0]!.isResidentCredential, true, 'a discoverable key: it can sign in alone');

    // An empty name is refused at the passkey's own field and changes nothing.
    await page.getByLabel('New name for Laptop').fill('');
    await page.getByRole('button', { name: 'Rename' }).click();
    assert.match((await page.locator('#factors .field-error').textContent()) ?? '', /IDP_/);
    assert.match((await passkeys().textContent()) ?? '', /Laptop/);
    await page.getByLabel('New name for Laptop').fill('Work laptop');
    await page.getByRole('button', { name: 'Rename' }).click();
    assert.equal(await page.locator('.notice').textContent(), 'Passkey renamed.');
    assert.match((await passkeys().textContent()) ?? '', /Work laptop.*last used —/s);
    assert.deepEqual(await axeViolations(page), [], 'the page with a passkey passes axe');

    // Signed out, the password alone no longer does: the passkey is asked for as the second factor.
    // No touch yet, so the login page's passkey autofill (a conditional request) waits unanswered.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await presence(false);
    await page.goto(`${stack.origin}/account`);
    await signIn(page, 'alice');
    await page.getByRole('heading', { name: 'Two-step verification' }).waitFor({ timeout: 30_000 });
    await presence(true);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await atAccount();
    assert.match((await page.locator('#profile dl').textContent()) ?? '', /alice/);

    // Signed out again: the passkey alone signs in (autofill may already have, else the button does).
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.goto(`${stack.origin}/account`);
    if (new URL(page.url()).pathname !== '/account') {
      await page
        .getByRole('button', { name: 'Use a passkey' })
        .click({ timeout: 5_000 })
        .catch(() => {});
    }
    await atAccount();
    assert.match((await passkeys().textContent()) ?? '', /Work laptop.*last used \d{4}-\d\d-\d\d/s);

    await page.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
    assert.equal(await page.locator('.notice').textContent(), 'Passkey removed.');
    assert.match((await page.locator('#factors').textContent()) ?? '', /No passkeys yet/);
    assert.equal(await passwordWorks('alice', 'alice-password'), true, 'the password alone signs in again');
    await context.close();
  });
});
