import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@gatehouse/core/testing';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type RealStack, startRealStack } from '../../shared/test/real-stack.ts';
import { createSsoExample } from '../src/index.ts';

/**
 * Single sign-on in a real browser: Chromium signs in on app 1 with a password, opens app 2 and is
 * signed in without one, then signs out of app 2 and finds both sessions ended (RP-initiated logout,
 * then back-channel logout to each app).
 */
const CHROMIUM = '/usr/bin/chromium';

function skipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is not installed`;
  if (process.env['CI'] === 'true')
    throw new Error(`${reason}: the SSO browser test cannot be skipped under CI`);
  console.log(`# skipping the SSO browser test: ${reason}`);
  return reason;
}

async function bind(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const originOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

describe('single sign-on across two applications in Chromium', {
  skip: skipReason(),
  timeout: 120_000,
}, () => {
  let stack: RealStack;
  let browser: Browser;
  let sso: ReturnType<typeof createSsoExample>;
  let app1: string;
  let app2: string;
  let servers: [Server, Server] | undefined;

  before(async () => {
    servers = [await bind(), await bind()];
    [app1, app2] = [originOf(servers[0]), originOf(servers[1])];
    sso = createSsoExample({ servers });
    // As under `npm start`: the identity provider at localhost, the apps at 127.0.0.1.
    stack = await startRealStack(sso, { publicHost: 'localhost' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    // The example closes them when it started; otherwise they are still ours to close.
    for (const server of servers ?? []) {
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    }
  });

  /** Every URL the page's main frame requested (redirects included), to tell whether a login page was shown. */
  function recordNavigations(page: Page): string[] {
    const urls: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) urls.push(request.url());
    });
    return urls;
  }

  async function signIn(page: Page, username: string, password: string): Promise<void> {
    await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('button[type="submit"]');
  }

  test('alice signs in on app 1, is signed in on app 2 without a password, and one sign-out ends both', async () => {
    const context: BrowserContext = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${app1}/`);
      await signIn(page, 'alice', 'alice-password');
      await page.waitForURL(`${app1}/`);
      assert.equal(await page.textContent('#who'), 'Signed in to SSO App 1 as alice.');
      assert.equal(await page.textContent('#roles'), 'admin, user');

      const visited = recordNavigations(page);
      await page.goto(`${app2}/`);
      await page.waitForURL(`${app2}/`);
      assert.equal(await page.textContent('#who'), 'Signed in to SSO App 2 as alice.');
      assert.equal(await page.textContent('#roles'), 'admin, user');
      assert.ok(
        visited.some((u) => u.startsWith(`${stack.publicUrl}/auth/auth`)),
        'app 2 went through the identity provider',
      );
      assert.equal(
        visited.filter((u) => u.includes('/auth/interaction/')).length,
        0,
        `no login page on app 2: ${visited.join(' → ')}`,
      );
      assert.equal(sso.apps[0]!.sessions.size, 1);
      assert.equal(sso.apps[1]!.sessions.size, 1);

      await page.click('text=Sign out');
      await page.waitForURL((url) => url.href.startsWith(`${stack.publicUrl}/auth/`));
      await page.click('button[name="logout"][value="yes"]');
      await page.waitForURL(`${app2}/signed-out`);
      assert.equal(await page.textContent('#signed-out'), 'You are signed out of SSO App 2.');

      // App 1 was told by the identity provider (back-channel), not by the browser.
      await waitFor(() => sso.apps[0]!.sessions.size === 0, { timeoutMs: 10_000 });
      assert.equal(sso.apps[1]!.sessions.size, 0);
      await page.goto(`${app1}/`);
      await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
      assert.equal(await page.isVisible('#password'), true, 'app 1 asks for a password again');
    } finally {
      await context.close();
    }
  });

  test('bob’s roles are shown on both applications', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${app2}/`);
      await signIn(page, 'bob', 'bob-password');
      await page.waitForURL(`${app2}/`);
      assert.equal(await page.textContent('#roles'), 'user');
      await page.goto(`${app1}/`);
      await page.waitForURL(`${app1}/`);
      assert.equal(await page.textContent('#who'), 'Signed in to SSO App 1 as bob.');
      assert.equal(await page.textContent('#roles'), 'user');
    } finally {
      await context.close();
    }
  });
});
