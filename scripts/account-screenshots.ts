// Screenshots of the account page for the docs (docs/screenshots/account*.png), taken in Chromium on
// a fresh `gatehouse dev`: bob's page, light and dark, and on a phone-sized window.
//   ./node_modules/.bin/node scripts/account-screenshots.ts
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
  await page.goto(`${stack.origin}/account`);
  await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
  await page.fill('#username', 'bob');
  await page.fill('#password', 'bob-password');
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === '/account');
  await shot(page, 'account');
  for (const [name, options] of [
    ['account-dark', { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' as const }],
    ['account-phone', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 }],
  ] as const) {
    const other = await browser.newContext({ ...options, storageState: await context.storageState() });
    const p = await other.newPage();
    await p.goto(`${stack.origin}/account`);
    await shot(p, name);
  }
  console.log(`screenshots written to ${OUT.pathname}`);
} finally {
  await browser.close();
  await stack.close();
}
