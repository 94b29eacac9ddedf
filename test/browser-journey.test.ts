// A person in Chromium on `gatehouse dev` (what `npm start` runs): pages meant for people send them to
// sign in and back where they were; the same routes still answer 401 JSON to scripts.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { type DevStack, startDevStack } from './support/dev-process.ts';

const CHROMIUM = '/usr/bin/chromium';

function skipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is not installed`;
  if (process.env['CI'] === 'true')
    throw new Error(`${reason}: the browser journey test cannot be skipped under CI`);
  console.log(`# skipping the browser journey test: ${reason}`);
  return reason;
}

describe('browser journeys on gatehouse dev', { skip: skipReason(), timeout: 240_000 }, () => {
  let stack: DevStack;
  let browser: Browser;

  before(async () => {
    stack = await startDevStack();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
  });

  test('opening /dashboard without a session lands on the sign-in page and comes back after signing in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.origin}/dashboard?view=all`);
    await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
    assert.equal(await page.locator('#username').count(), 1, 'the hosted sign-in page is shown');
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    await page.click('button[type="submit"]');
    await page.waitForURL((url) => url.pathname === '/dashboard');
    assert.equal(new URL(page.url()).search, '?view=all', 'back exactly where the person was');
    const heading = await page.locator('h1').first().textContent();
    assert.match(heading ?? '', /PartsCoder/i);
    assert.match(await page.content(), /alice/);
    await context.close();
  });

  test('scripts on the same route still get 401 JSON, and a page redirect only answers GET with text/html', async () => {
    const json = await fetch(`${stack.origin}/dashboard`);
    assert.equal(json.status, 401);
    assert.match(json.headers.get('content-type') ?? '', /application\/json/);
    const html = await fetch(`${stack.origin}/dashboard`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    assert.equal(html.status, 302);
    assert.equal(html.headers.get('location'), '/_gatehouse/bff/login?return_to=%2Fdashboard');
    const post = await fetch(`${stack.origin}/dashboard`, {
      method: 'POST',
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    assert.equal(post.status, 401);
    // Routes not marked as pages keep answering 401 to a browser.
    const api = await fetch(`${stack.origin}/echo`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(api.status, 401);
  });

  test('the landing page offers sign-in, the web apps and the docs, with live health', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.origin}/`);
    const signIn = page.getByRole('link', { name: 'Sign in' });
    assert.equal(await signIn.getAttribute('href'), '/_gatehouse/bff/login?return_to=%2F');
    assert.equal(await page.getByRole('link', { name: /mw-dashboard/ }).getAttribute('href'), '/dashboard');
    assert.equal(await page.getByRole('link', { name: /sso-app-1/ }).count(), 1);
    assert.equal(await page.getByRole('link', { name: 'Documentation' }).count(), 1);
    assert.ok((await page.locator('td.up').count()) > 3, 'services show live health');
    await signIn.click();
    await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
    await page.fill('#username', 'bob');
    await page.fill('#password', 'bob-password');
    await page.click('button[type="submit"]');
    await page.waitForURL((url) => url.pathname === '/');
    await context.close();
  });
});
