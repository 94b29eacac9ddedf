// What the admin console's Chromium tests share: the skip rule, the hosted sign-in, and axe-core.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export function chromiumSkipReason(what: string): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is not installed`;
  if (process.env['CI'] === 'true') throw new Error(`${reason}: ${what} cannot be skipped under CI`);
  console.log(`# skipping ${what}: ${reason}`);
  return reason;
}

/** On the hosted sign-in page: the demo password of `username`. */
export async function signIn(page: Page, username: string): Promise<void> {
  await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
  await page.fill('#username', username);
  await page.fill('#password', `${username}-password`);
  await page.click('button[type="submit"]');
}

/** axe-core in the page: the serious and critical violations, as "rule: target" lines. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
    violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
