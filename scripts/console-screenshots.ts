// Screenshots of the web pages for the docs (docs/screenshots/*.png), taken in Chromium on a fresh
// `gatehouse dev`: the landing page, the sign-in page, each admin console area, light and dark, and
// the users page on a phone-sized window.
//   ./node_modules/.bin/node scripts/console-screenshots.ts
import { mkdirSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { startDevStack } from '../test/support/dev-process.ts';

const OUT = new URL('../docs/screenshots/', import.meta.url);
mkdirSync(OUT, { recursive: true });

const stack = await startDevStack();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu'],
});
try {
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: new URL(`${name}.png`, OUT).pathname, fullPage: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${stack.origin}/`);
  await shot(page, 'landing');
  await page.goto(`${stack.origin}/admin`);
  await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
  await shot(page, 'sign-in');
  await page.fill('#username', 'alice');
  await page.fill('#password', 'alice-password');
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === '/admin/users');
  await shot(page, 'admin-users');
  await page.goto(`${stack.origin}/admin/groups`);
  await page.fill('#new-group-name', 'on-call');
  await page.fill('#new-group-description', 'People on call this week');
  await page.click('text=Create group');
  await page.selectOption('#group-role', 'editor');
  await page.click('text=Give role');
  await page.fill('#group-member-username', 'bob');
  await page.click('text=Add member');
  await shot(page, 'admin-group');
  await page.goto(`${stack.origin}/admin/users`);
  await page.click('tbody a:text("bob")');
  await page.waitForLoadState();
  await shot(page, 'admin-user');
  for (const area of ['groups', 'clients', 'identity', 'keys', 'audit']) {
    await page.goto(`${stack.origin}/admin/${area}`);
    await shot(page, `admin-${area}`);
  }
  // Some traffic first, so that the gateway page's charts have something to draw.
  for (let i = 0; i < 30; i++) await context.request.get(`${stack.origin}/echo`);
  await page.goto(`${stack.origin}/admin/gateway`);
  await page.waitForTimeout(6000);
  for (let i = 0; i < 30; i++) await context.request.get(`${stack.origin}/echo`);
  await page.reload();
  await shot(page, 'admin-gateway');
  const dark = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    colorScheme: 'dark',
    storageState: await context.storageState(),
  });
  const darkPage = await dark.newPage();
  await darkPage.goto(`${stack.origin}/admin/users`);
  await shot(darkPage, 'admin-users-dark');
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    storageState: await context.storageState(),
  });
  const phonePage = await phone.newPage();
  await phonePage.goto(`${stack.origin}/admin/users`);
  await shot(phonePage, 'admin-users-phone');
  console.log(`screenshots written to ${OUT.pathname}`);
} finally {
  await browser.close();
  await stack.close();
}
