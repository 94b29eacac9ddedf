// The admin console at /admin in Chromium on `gatehouse dev`: an admin walks every area and finds
// each change in the audit log; a person without the admin role is refused; forms refuse bad input,
// cross-site posts and framing; axe-core finds no serious or critical violation on any page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { axeViolations, CHROMIUM, chromiumSkipReason, signIn } from './support/console-browser.ts';
import { type DevStack, startDevStack } from './support/dev-process.ts';

const skipReason = () => chromiumSkipReason('the admin console test');

describe('admin console in Chromium', { skip: skipReason(), timeout: 300_000 }, () => {
  let stack: DevStack;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let bobContext: BrowserContext;
  const checkedPages: string[] = [];

  async function open(path: string): Promise<void> {
    await page.goto(`${stack.origin}${path}`);
    const violations = await axeViolations(page);
    assert.deepEqual(violations, [], `axe on ${path}`);
    checkedPages.push(path);
  }

  before(async () => {
    stack = await startDevStack();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    // axe is injected as a script, which the console's own CSP (rightly) forbids.
    admin = await browser.newContext({ bypassCSP: true });
    page = await admin.newPage();
    bobContext = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('an admin opening /admin signs in as the console client (code + PKCE) and lands on the users page', async () => {
    const authorizations: URL[] = [];
    const seen = (request: { url(): string }) => {
      const url = new URL(request.url());
      if (url.pathname === '/auth/auth') authorizations.push(url);
    };
    page.on('request', seen);
    await page.goto(`${stack.origin}/admin`);
    await signIn(page, 'alice');
    await page.waitForURL((url) => url.pathname === '/admin/users');
    page.off('request', seen);
    assert.ok(authorizations.length > 0, 'the sign-in went through the authorization endpoint');
    for (const authorize of authorizations) {
      assert.equal(authorize.searchParams.get('client_id'), 'gatehouse-console');
      assert.equal(authorize.searchParams.get('response_type'), 'code');
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      assert.match(authorize.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    }
    assert.equal(await page.locator('h1').textContent(), 'Users');
    assert.match((await page.locator('.signout').textContent()) ?? '', /Signed in as/);
    await open('/admin/users');
  });

  test('bad input is refused at the field and creates nothing', async () => {
    await page.fill('#new-user-username', 'x');
    await page.fill('#new-user-password', 'a-long-enough-password-1');
    await page.click('text=Create user');
    await page.waitForLoadState();
    const error = page.locator('#new-user-username-error');
    // The admin API checks a body against its OpenAPI schema first: a username under 3 characters
    // is a field error of that schema, shown beside the field it names.
    assert.match((await error.textContent()) ?? '', /username .*3 characters.*IDP_FIELD_INVALID/);
    assert.equal(await page.locator('#new-user-username').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#new-user-username').getAttribute('value'), 'x', 'what was typed stays');
    await page.goto(`${stack.origin}/admin/users?search=x`);
    assert.equal(await page.locator('tbody tr').count(), 0, 'no user "x" was created');
  });

  test('an admin creates a user and gives a role', async () => {
    await page.goto(`${stack.origin}/admin/users`);
    await page.fill('#new-user-username', 'dora');
    await page.fill('#new-user-email', 'dora@example.com');
    await page.fill('#new-user-password', 'a-long-and-unusual-passphrase-7');
    await page.selectOption('#new-user-role', 'user');
    await page.click('text=Create user');
    await page.waitForLoadState();
    const refused = (await page.locator('.field-error, .form-error').allTextContents()).join(' ');
    assert.match(new URL(page.url()).pathname, /^\/admin\/users\/[^/]+$/, refused);
    assert.equal(await page.locator('.notice').textContent(), 'User created.');
    assert.equal(await page.locator('h1').textContent(), 'User dora');
    await open(new URL(page.url()).pathname);
    await page.selectOption('#add-role', 'editor');
    await page.click('text=Give role');
    assert.equal(await page.locator('.notice').textContent(), 'Role given.');
    assert.deepEqual(
      (await page.locator('.chips li').allTextContents()).map((t) => t.split(' ')[0]),
      ['editor', 'user'].sort(),
    );
  });

  test('an admin revokes a session of another person, who is then signed out', async () => {
    const login = await bobContext.request.post(`${stack.origin}/authentication/login`, {
      form: { username: 'bob', password: 'bob-password' },
      headers: { origin: stack.origin },
    });
    assert.equal(login.status(), 200);
    assert.equal((await bobContext.request.get(`${stack.origin}/authentication/whoami`)).status(), 200);
    await page.goto(`${stack.origin}/admin/users?search=bob`);
    await page.click('tbody a:text("bob")');
    await page.waitForURL((url) => /^\/admin\/users\/[^/]+$/.test(url.pathname));
    const revoke = page.getByRole('button', { name: /^Revoke session/ });
    assert.equal(await revoke.count(), 1, 'bob has one active session');
    await revoke.click();
    assert.equal(await page.locator('.notice').textContent(), 'Session revoked.');
    assert.equal(await page.getByRole('button', { name: /^Revoke session/ }).count(), 0);
    assert.equal((await bobContext.request.get(`${stack.origin}/authentication/whoami`)).status(), 401);
  });

  test('a person without the admin role is refused', async () => {
    const bob = await bobContext.newPage();
    await bob.goto(`${stack.origin}/admin/users`);
    // bob's session was revoked above: he signs in again, then the console refuses him.
    if (new URL(bob.url()).pathname.startsWith('/auth/interaction/')) {
      await bob.fill('#username', 'bob');
      await bob.fill('#password', 'bob-password');
      await bob.click('button[type="submit"]');
    }
    await bob.waitForURL((url) => url.pathname === '/admin/users');
    assert.equal(await bob.locator('h1').textContent(), 'Not allowed');
    assert.equal(await bob.locator('.code code').textContent(), 'CONSOLE_ADMIN_REQUIRED');
    // The page says who is signed in and offers to sign out, to sign in as someone else.
    assert.match(
      (await bob.locator('main form').textContent()) ?? '',
      /signed in as bob, who does not hold the admin role/,
    );
    const res = await bobContext.request.get(`${stack.origin}/admin/keys`);
    assert.equal(res.status(), 403);
  });

  test('an admin creates a client, sees its secret once, and rotates it', async () => {
    await open('/admin/clients');
    await page.fill('#new-client-clientId', 'console-made-app');
    await page.fill('#new-client-redirectUris', 'https://app.example/callback');
    await page.click('text=Create client');
    assert.match((await page.locator('h1').textContent()) ?? '', /Client created: console-made-app/);
    const first = await page.locator('#client-secret').inputValue();
    assert.ok(first.length >= 32);
    await page.goto(`${stack.origin}/admin/clients`);
    assert.equal((await page.content()).includes(first), false, 'the secret is not shown again');
    await page.getByRole('button', { name: 'Rotate the secret of console-made-app' }).click();
    const second = await page.locator('#client-secret').inputValue();
    assert.notEqual(second, first);
  });

  test('a client that signs people in without a redirect URI is refused at the field', async () => {
    await page.goto(`${stack.origin}/admin/clients`);
    await page.fill('#new-client-clientId', 'no-redirect-app');
    await page.click('text=Create client');
    assert.match((await page.locator('#new-client-redirectUris-error').textContent()) ?? '', /redirect URI/);
    await page.goto(`${stack.origin}/admin/clients`);
    assert.equal(await page.locator('code:text-is("no-redirect-app")').count(), 0);
  });

  test('an admin rotates the signing keys', async () => {
    await open('/admin/keys');
    const activeBefore = await page.locator('tr:has(td:text-is("active")) td:first-child').allTextContents();
    await page.click('text=Rotate signing keys');
    await page.waitForURL((url) => url.search === '?done=rotated');
    const activeAfter = await page.locator('tr:has(td:text-is("active")) td:first-child').allTextContents();
    assert.notDeepEqual(activeAfter, activeBefore);
    await open('/admin/roles');
  });

  test('the audit log shows the event of each change, filters by event and exports CSV', async () => {
    await open('/admin/audit');
    const rows = (await page.locator('tbody tr').allTextContents()).join('\n');
    for (const expected of [
      /admin\.change.*user/,
      /admin\.change.*role/,
      /session\.revoked/,
      /client\.create/,
      /client\.secret\.rotate/,
      /keys\.rotate/,
    ]) {
      assert.match(rows, expected);
    }
    await page.fill('#audit-type', 'session.revoked');
    await page.click('text=Filter');
    const filtered = await page.locator('tbody td:nth-child(2) code').allTextContents();
    assert.ok(filtered.length >= 1);
    assert.ok(filtered.every((t) => t === 'session.revoked'));
    const csv = await admin.request.get(`${stack.origin}/admin/audit.csv?type=session.revoked`);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()['content-type'] ?? '', /^text\/csv/);
    const lines = (await csv.text()).trim().split('\r\n');
    assert.equal(lines[0], 'id,at,type,actor,subject,clientId,sourceIp,details');
    assert.ok(lines.slice(1).every((l) => l.split(',')[2] === 'session.revoked'));
    await page.fill('#audit-since', '2020-01-01T00:00');
    await page.fill('#audit-until', '2020-01-02T00:00');
    await page.click('text=Filter');
    assert.equal(await page.locator('tbody tr').count(), 0, 'nothing in a past window');
  });

  test('a form post without the page token, or from another site, changes nothing', async () => {
    await page.goto(`${stack.origin}/admin/keys`);
    const before = await page.locator('tbody').textContent();
    const noToken = await admin.request.post(`${stack.origin}/admin/keys/rotate`, {
      form: { csrf: 'forged' },
    });
    assert.equal(noToken.status(), 403);
    assert.match(await noToken.text(), /CONSOLE_CSRF_INVALID/);
    const token = await page.locator('input[name="csrf"]').first().inputValue();
    const crossSite = await admin.request.post(`${stack.origin}/admin/keys/rotate`, {
      form: { csrf: token },
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(crossSite.status(), 403);
    assert.match(await crossSite.text(), /CONSOLE_CROSS_SITE/);
    await page.reload();
    assert.equal(await page.locator('tbody').textContent(), before, 'no rotation happened');
  });

  test('console pages cannot be framed by another site', async () => {
    const res = await admin.request.get(`${stack.origin}/admin/users`);
    assert.equal(res.headers()['x-frame-options'], 'DENY');
    assert.match(res.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    const plain = await browser.newContext();
    const framer = await plain.newPage();
    await framer.setContent(`<iframe src="${stack.origin}/admin/users" title="console"></iframe>`);
    await framer.waitForTimeout(1500);
    const framed = framer.frames().find((f) => f.url().startsWith(`${stack.origin}/admin`));
    const heading = framed
      ? await framed
          .locator('h1')
          .count()
          .catch(() => 0)
      : 0;
    assert.equal(heading, 0, 'the console did not render inside the frame');
    await plain.close();
  });

  test('every console page was checked with axe-core', () => {
    assert.ok(checkedPages.length >= 6, checkedPages.join(', '));
  });
});
