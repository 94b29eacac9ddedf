// The admin console's permissions pages in Chromium on `gatehouse dev`: the console calls the
// permission service's OpenFGA API with the signed-in admin's own token. A store is made, a model
// with a mistake is refused with its line at the field, a valid one written, a tuple written (bad
// input refused at the field, changing nothing), and the check tester answers with the path through
// the model. axe-core finds no serious or critical violation on any page; forms need the page token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { axeViolations, CHROMIUM, chromiumSkipReason, signIn } from './support/console-browser.ts';
import { type DevStack, startDevStack } from './support/dev-process.ts';

const MODEL = `model
  schema 1.1

type user

type group
  relations
    define member: [user]

type document
  relations
    define owner: [user]
    define editor: [user, group#member] or owner
    define viewer: [user] or editor
`;

// Line 8 names a type that does not exist.
const BROKEN = `model
  schema 1.1

type user

type document
  relations
    define viewer: [usr]
`;

describe('admin console permissions in Chromium', {
  skip: chromiumSkipReason('the console permissions test'),
  timeout: 400_000,
}, () => {
  let stack: DevStack;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let storeBase = '';
  const checkedPages: string[] = [];

  async function axe(what: string): Promise<void> {
    assert.deepEqual(await axeViolations(page), [], `axe on ${what}`);
    checkedPages.push(what);
  }
  const tupleRows = async () => page.locator('tbody tr').count();

  before(async () => {
    stack = await startDevStack();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    admin = await browser.newContext({ bypassCSP: true });
    page = await admin.newPage();
    await page.goto(`${stack.origin}/admin/permissions`);
    await signIn(page, 'alice');
    await page.waitForURL((url) => url.pathname === '/admin/permissions');
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('the stores page is in the navigation; an admin makes a store and lands on its model', async () => {
    await axe('/admin/permissions');
    assert.equal(
      await page.locator('nav[aria-label="Console"] a[aria-current="page"]').textContent(),
      'Permissions',
    );
    await page.click('text=Create store');
    assert.equal(await page.locator('#new-store-name-error').textContent(), 'Enter a name.');
    await page.fill('#new-store-name', 'console test');
    await page.click('text=Create store');
    await page.waitForURL((url) => /^\/admin\/permissions\/[^/]+\/model$/.test(url.pathname));
    storeBase = new URL(page.url()).pathname.replace(/\/model$/, '');
    assert.match((await page.locator('.notice').textContent()) ?? '', /^Store created/);
    await axe(`${storeBase}/model`);
  });

  test('a model with a mistake is refused with its line at the field, and nothing is written', async () => {
    await page.goto(`${stack.origin}${storeBase}/model`);
    await page.fill('#model-dsl', BROKEN);
    await page.click('text=Write model');
    const error = (await page.locator('#model-dsl-error').textContent()) ?? '';
    assert.match(error, /^Line 8, column \d+: /, error);
    assert.match(error, /invalid_authorization_model/);
    assert.equal(await page.locator('#model-dsl').getAttribute('aria-invalid'), 'true');
    assert.match(
      (await page.locator('#model-dsl').getAttribute('aria-describedby')) ?? '',
      /model-dsl-error/,
    );
    assert.equal(await page.locator('#model-dsl').inputValue(), BROKEN, 'what was typed stays');
    await axe('the refused model');
    await page.goto(`${stack.origin}${storeBase}/model`);
    assert.match((await page.locator('main').textContent()) ?? '', /has no model yet/);
  });

  test('a valid model is written and shown back as DSL', async () => {
    await page.fill('#model-dsl', MODEL);
    await page.click('text=Write model');
    await page.waitForURL((url) => url.searchParams.get('done') === 'model-written');
    assert.match((await page.locator('main').textContent()) ?? '', /The latest model is/);
    const shown = await page.locator('#model-dsl').inputValue();
    assert.match(shown, /define editor: \[user, group#member\] or owner/);
  });

  test('tuples: bad input is refused at the field and changes nothing; good ones are written and read', async () => {
    await page.goto(`${stack.origin}${storeBase}/tuples`);
    await axe(`${storeBase}/tuples`);
    const before = await tupleRows();
    await page.fill('#write-user', 'anne');
    await page.fill('#write-relation', 'viewer');
    await page.fill('#write-object', 'document:plan');
    await page.click('text=Write tuple');
    assert.match((await page.locator('#write-user-error').textContent()) ?? '', /type:id/);
    assert.equal(await page.locator('#write-user').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#write-user').inputValue(), 'anne');
    await axe('the refused tuple');
    // Well formed, but the model has no such relation: the service refuses it at the relation.
    await page.fill('#write-user', 'user:anne');
    await page.fill('#write-relation', 'approver');
    await page.click('text=Write tuple');
    assert.match((await page.locator('#write-relation-error').textContent()) ?? '', /approver/);
    await page.goto(`${stack.origin}${storeBase}/tuples`);
    assert.equal(await tupleRows(), before, 'nothing was written');
    for (const [user, relation, object] of [
      ['user:bob', 'member', 'group:eng'],
      ['group:eng#member', 'editor', 'document:plan'],
      ['user:cy', 'viewer', 'document:notes'],
    ] as const) {
      await page.fill('#write-user', user);
      await page.fill('#write-relation', relation);
      await page.fill('#write-object', object);
      await page.click('text=Write tuple');
      await page.waitForURL((url) => url.searchParams.get('done') === 'written');
    }
    assert.equal(await page.locator('.notice').textContent(), 'Tuple written.');
    await page.fill('#filter-object', 'document:plan');
    await page.click('text=Read tuples');
    const rows = await page.locator('tbody tr td:first-child').allTextContents();
    assert.deepEqual(rows, ['group:eng#member']);
    await page.goto(`${stack.origin}${storeBase}/tuples?object=plan`);
    assert.equal(
      await page.locator('#filter-object').getAttribute('aria-invalid'),
      'true',
      'an object without a type',
    );
  });

  test('the check tester: allowed, with the path through the group shown', async () => {
    await page.goto(`${stack.origin}${storeBase}/check`);
    await axe(`${storeBase}/check`);
    await page.fill('#check-user', 'user:bob');
    await page.fill('#check-relation', 'viewer');
    await page.fill('#check-object', 'document:plan');
    await page.click('button:text-is("Check")');
    assert.match((await page.locator('#check-verdict').textContent()) ?? '', /^Allowed/);
    const onPath = await page.locator('#check-path li.on-path > strong').allTextContents();
    assert.ok(
      onPath.some((l) => l.startsWith('document:plan#viewer')),
      onPath.join(' | '),
    );
    assert.ok(onPath.includes('group:eng#member'), onPath.join(' | '));
    assert.ok(onPath.includes('user:bob'), onPath.join(' | '));
    await axe('an allowed check');
  });

  test('the check tester: denied, nothing on the path; bad input at the field', async () => {
    await page.fill('#check-user', 'user:cy');
    await page.click('button:text-is("Check")');
    assert.match((await page.locator('#check-verdict').textContent()) ?? '', /^Not allowed/);
    assert.equal(await page.locator('#check-path li.on-path').count(), 0);
    await axe('a denied check');
    await page.fill('#check-context', '{not json');
    await page.click('button:text-is("Check")');
    assert.match((await page.locator('#check-context-error').textContent()) ?? '', /JSON/);
    assert.equal(await page.locator('#check-verdict').count(), 0);
  });

  test('a tuple is deleted; forms refuse a post without the page token and change nothing', async () => {
    await page.goto(`${stack.origin}${storeBase}/tuples?object=document:notes`);
    await page.getByRole('button', { name: 'Delete user:cy viewer document:notes' }).click();
    await page.waitForURL((url) => url.searchParams.get('done') === 'deleted');
    await page.goto(`${stack.origin}${storeBase}/tuples?object=document:notes`);
    assert.equal(await tupleRows(), 0);
    const forged = await admin.request.post(`${stack.origin}${storeBase}/tuples`, {
      form: { user: 'user:mallory', relation: 'owner', object: 'document:plan' },
    });
    assert.equal(forged.status(), 403);
    assert.match(await forged.text(), /CONSOLE_CSRF_INVALID/);
    await page.goto(`${stack.origin}${storeBase}/tuples?user=user:mallory&object=document:plan`);
    assert.equal(await tupleRows(), 0);
  });

  test('every permissions page was checked with axe-core', () => {
    assert.ok(checkedPages.length >= 7, checkedPages.join(', '));
  });
});
