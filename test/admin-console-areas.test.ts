// The admin console's areas beyond the first ones, in Chromium on `gatehouse dev`: a person's groups,
// linked identities and second factors; the groups page; the identity providers and LDAP view; the
// gateway's routes, health and live charts. Every form refuses bad input at the field and changes
// nothing; axe-core finds no serious or critical violation on any page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generate } from 'otplib';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { axeViolations, CHROMIUM, chromiumSkipReason, signIn } from './support/console-browser.ts';
import { type DevStack, startDevStack } from './support/dev-process.ts';

describe('admin console areas in Chromium', {
  skip: chromiumSkipReason('the console areas test'),
  timeout: 400_000,
}, () => {
  let stack: DevStack;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  const checkedPages: string[] = [];

  async function open(path: string): Promise<void> {
    await page.goto(`${stack.origin}${path}`);
    assert.deepEqual(await axeViolations(page), [], `axe on ${path}`);
    checkedPages.push(path);
  }

  /** The console page of a user, found by name on the users page. */
  async function openUser(username: string): Promise<string> {
    await page.goto(`${stack.origin}/admin/users?search=${username}`);
    await page.click(`tbody a:text-is("${username}")`);
    await page.waitForURL((url) => /^\/admin\/users\/[^/]+$/.test(url.pathname));
    return new URL(page.url()).pathname;
  }

  const groupNames = async () => page.locator('tbody td:first-child a').allTextContents();

  before(async () => {
    stack = await startDevStack();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    admin = await browser.newContext({ bypassCSP: true });
    page = await admin.newPage();
    await page.goto(`${stack.origin}/admin/groups`);
    await signIn(page, 'alice');
    await page.waitForURL((url) => url.pathname === '/admin/groups');
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('a group name the admin API refuses is shown at the field, and no group is made', async () => {
    await open('/admin/groups');
    const before = await groupNames();
    await page.fill('#new-group-name', 'Ops Team!');
    await page.click('text=Create group');
    assert.match((await page.locator('#new-group-name-error').textContent()) ?? '', /IDP_FIELD_INVALID/);
    assert.equal(await page.locator('#new-group-name').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#new-group-name').inputValue(), 'Ops Team!', 'what was typed stays');
    assert.deepEqual(await axeViolations(page), [], 'axe on the refused form');
    await page.fill('#new-group-name', '');
    await page.click('text=Create group');
    assert.equal(await page.locator('#new-group-name-error').textContent(), 'Enter a name.');
    await page.goto(`${stack.origin}/admin/groups`);
    assert.deepEqual(await groupNames(), before);
  });

  test('an admin creates a group, gives it a role and adds a member; an unknown member is refused at the field', async () => {
    await page.goto(`${stack.origin}/admin/groups`);
    await page.fill('#new-group-name', 'ops-team');
    await page.fill('#new-group-description', 'People on call');
    await page.click('text=Create group');
    await page.waitForURL((url) => url.pathname === '/admin/groups/ops-team');
    assert.equal(await page.locator('.notice').textContent(), 'Group created.');
    await open('/admin/groups/ops-team');
    await page.selectOption('#group-role', 'editor');
    await page.click('text=Give role');
    assert.equal(await page.locator('.notice').textContent(), 'Role given to the group.');
    await page.fill('#group-member-username', 'nobody-here');
    await page.click('text=Add member');
    assert.equal(
      await page.locator('#group-member-username-error').textContent(),
      'No user is named “nobody-here”.',
    );
    assert.equal(await page.locator('#group-member-username').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('text=No members.').count(), 1, 'nobody was added');
    await page.click('text=Give role');
    assert.equal(await page.locator('#group-role-error').textContent(), 'Choose a role.');
    assert.equal(await page.locator('#group-role').getAttribute('aria-invalid'), 'true');
    await page.fill('#group-member-username', 'bob');
    await page.click('text=Add member');
    assert.equal(await page.locator('.notice').textContent(), 'Member added.');
    assert.deepEqual(await page.locator('#members ~ .chips li a').allTextContents(), ['bob']);
  });

  test('a person’s page shows their groups and the roles they hold through them; they are taken out of a group', async () => {
    const bobPage = await openUser('bob');
    await open(bobPage);
    const chips = await page.locator('section[aria-labelledby="roles"] .chips li').allTextContents();
    assert.ok(
      chips.some((c) => c.startsWith('editor') && c.includes('(through a group)')),
      chips.join(' | '),
    );
    assert.deepEqual(await page.locator('section[aria-labelledby="groups"] .chips li a').allTextContents(), [
      'ops-team',
    ]);
    await page.click('section[aria-labelledby="groups"] >> text=Add to group');
    assert.equal(await page.locator('#add-group-error').textContent(), 'Choose a group.');
    await page.getByRole('button', { name: 'Remove from group ops-team' }).click();
    assert.match((await page.locator('.notice').textContent()) ?? '', /^Taken out of the group/);
    assert.equal(await page.locator('section[aria-labelledby="groups"] .chips li').count(), 0);
    const roles = await page.locator('section[aria-labelledby="roles"] .chips li').allTextContents();
    assert.equal(
      roles.some((c) => c.startsWith('editor')),
      false,
      'the group’s role went with it',
    );
  });

  test('an admin sees a person’s second factors and resets them', async () => {
    const bob = await browser.newContext();
    const login = await bob.request.post(`${stack.origin}/authentication/login`, {
      form: { username: 'bob', password: 'bob-password' },
      headers: { origin: stack.origin },
    });
    assert.equal(login.status(), 200);
    const setup = await bob.request.post(`${stack.origin}/authentication/totp-setup`, {
      data: {},
      headers: { origin: stack.origin },
    });
    assert.equal(setup.status(), 200, await setup.text());
    const { secret } = (await setup.json()) as { secret: string };
    const confirm = await bob.request.post(`${stack.origin}/authentication/totp-setup/confirm`, {
      data: { code: await generate({ secret }) },
      headers: { origin: stack.origin },
    });
    assert.equal(confirm.status(), 200, await confirm.text());
    await bob.close();

    await open(await openUser('bob'));
    const facts = async () => page.locator('section[aria-labelledby="factors"] dd').allTextContents();
    assert.deepEqual(await facts(), ['set up', '10', '0']);
    await page.getByRole('button', { name: 'Reset second factors of bob' }).click();
    assert.match((await page.locator('.notice').textContent()) ?? '', /^Second factors removed/);
    assert.deepEqual(await facts(), ['none', '0', '0']);
    assert.equal(await page.locator('text=Nothing to reset.').count(), 1);
  });

  test('a linked identity is listed; unlinking the last way in is refused beside it and changes nothing', async () => {
    const dana = await browser.newContext();
    const p = await dana.newPage();
    await p.goto(`${stack.origin}/admin`);
    await p.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
    await p.getByRole('button', { name: 'Sign in with Example Corp' }).click();
    await p.getByLabel('Example Corp username').fill('dana');
    await p.getByLabel('Password').fill('dana-example-corp');
    await p.getByRole('button', { name: 'Sign in to Example Corp' }).click();
    await p.getByRole('button', { name: 'Create a new account' }).click();
    await p.waitForURL((url) => url.pathname.startsWith('/admin'));
    await dana.close();

    const danaPage = await openUser('dana');
    await open(danaPage);
    const rows = async () => page.locator('section[aria-labelledby="identities"] tbody tr').count();
    assert.equal(await rows(), 1);
    await page.getByRole('button', { name: 'Unlink the example-corp identity' }).click();
    assert.match(
      (await page.locator('section[aria-labelledby="identities"] .form-error').textContent()) ?? '',
      /IDP_BROKER_LAST_SIGN_IN/,
    );
    await page.goto(`${stack.origin}${danaPage}`);
    assert.equal(await rows(), 1, 'the identity is still linked');
  });

  test('the identity providers page shows Example Corp answering and no LDAP directory', async () => {
    await open('/admin/identity');
    const row = page.locator('tbody tr', { hasText: 'Example Corp' });
    assert.equal(await row.count(), 1);
    assert.match((await row.textContent()) ?? '', /answers/);
    assert.match(
      (await page.locator('section[aria-labelledby="directory"]').textContent()) ?? '',
      /No LDAP directory/,
    );
  });

  test('the gateway page lists the routes with their policies, upstream health and live charts', async () => {
    await open('/admin/gateway');
    const consoleRow = page.locator('tbody tr', { has: page.locator('th code:text-is("admin-console")') });
    assert.match((await consoleRow.textContent()) ?? '', /authenticated.*pages for people/);
    assert.equal(await page.locator('figure.chart').count(), 5);
    // Traffic for the charts, then the page's own script redraws them from the server's fragment.
    for (let i = 0; i < 20; i++) await admin.request.get(`${stack.origin}/echo`);
    await page.waitForFunction(
      () => document.querySelector('#chart-rps-title .chart-now')?.textContent?.startsWith('now ') === true,
      undefined,
      { timeout: 20_000 },
    );
    assert.equal((await page.locator('#live-charts svg path.line').count()) >= 1, true);
    const logins = (await page.locator('#chart-logins-title .chart-now').textContent()) ?? '';
    assert.match(logins, /peak [1-9]/, 'the sign-ins of this test are on the chart');
    const fragment = await admin.request.get(`${stack.origin}/admin/gateway/charts`);
    assert.equal(fragment.status(), 200);
    assert.match(await fragment.text(), /<figure class="chart"/);
    const script = await admin.request.get(`${stack.origin}/admin/assets/live-charts.js`);
    assert.match(script.headers()['content-type'] ?? '', /^text\/javascript/);
    assert.match(
      (await page.locator('section[aria-labelledby="health"]').textContent()) ?? '',
      /takes traffic/,
    );
  });

  test('requests refused by a route’s rate limit are counted on the gateway page', async () => {
    // The shop's /products route allows a burst of 40 per address: the rest are refused with 429.
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++)
      statuses.push((await admin.request.get(`${stack.origin}/products`)).status());
    const refused = statuses.filter((s) => s === 429).length;
    assert.ok(refused >= 1, statuses.join(','));
    await page.goto(`${stack.origin}/admin/gateway`);
    const row = page.locator('section[aria-labelledby="limits"] tbody tr', {
      has: page.locator('td code:text-is("shop-products")'),
    });
    assert.deepEqual(await row.locator('td').allTextContents(), ['shop-products', 'rate', String(refused)]);
  });

  test('forms of the new areas refuse a post without the page token, and change nothing', async () => {
    const res = await admin.request.post(`${stack.origin}/admin/groups`, { form: { name: 'forged-group' } });
    assert.equal(res.status(), 403);
    assert.match(await res.text(), /CONSOLE_CSRF_INVALID/);
    await page.goto(`${stack.origin}/admin/groups`);
    assert.equal((await groupNames()).includes('forged-group'), false);
  });

  test('every new page was checked with axe-core', () => {
    assert.ok(checkedPages.length >= 6, checkedPages.join(', '));
  });
});
