import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { type DevStack, freePort, startDevStack } from '../../../test/support/dev-process.ts';
import { startSpa } from '../serve.ts';

/**
 * A single-page app on its own origin signs a person in (authorization code + PKCE, public client)
 * and calls a protected gateway route with the access token, in Chromium: the token request is a
 * cross-origin fetch the identity provider allows (the client's redirect origin), the API call one
 * the route's `cors` policy allows (preflight answered before authentication).
 */
const CHROMIUM = '/usr/bin/chromium';

function skipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is not installed`;
  if (process.env['CI'] === 'true')
    throw new Error(`${reason}: the SPA browser test cannot be skipped under CI`);
  console.log(`# skipping the SPA browser test: ${reason}`);
  return reason;
}

describe('a single-page app on another origin, in Chromium', { skip: skipReason(), timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-spa-'));
  let api: Server;
  let dev: DevStack;
  let spa: Awaited<ReturnType<typeof startSpa>>;
  let browser: Browser;

  before(async () => {
    // The protected service: answers with the identity the gateway vouches for.
    api = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ user: req.headers['x-user-name'] ?? req.headers['x-user-id'] }));
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    const apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
    const spaPort = await freePort();
    const spaOrigin = `http://127.0.0.1:${spaPort}`;
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(
      file,
      `idp:
  clients:
    - clientId: spa
      tokenEndpointAuthMethod: none
      redirectUris: [${spaOrigin}/]
      scope: openid profile
      firstParty: true
gateway:
  routes:
    - id: spa-api
      match: { path: /spa-api }
      upstreams: [${apiUrl}]
      policy: authenticated
      cors:
        origins: [${spaOrigin}]
`,
    );
    dev = await startDevStack({ GATEHOUSE_CONFIG: file });
    spa = await startSpa({
      issuer: dev.issuer,
      clientId: 'spa',
      apiUrl: `${dev.origin}/spa-api`,
      port: spaPort,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  after(async () => {
    await browser?.close();
    await spa?.close();
    await dev?.close();
    await new Promise((r) => api?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('alice signs in on the app and its cross-origin API call answers 200 with her name', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
    await page.goto(spa.url);
    await page.click('#sign-in');
    await page.waitForURL((url) => url.pathname.startsWith('/auth/interaction/'));
    await page.fill('#username', 'alice');
    await page.fill('#password', 'alice-password');
    await page.click('button[type="submit"]');
    await page.waitForURL((url) => url.origin === spa.url);
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent?.startsWith('API answered'),
      null,
      {
        timeout: 30_000,
      },
    );
    assert.equal(await page.textContent('#status'), 'API answered 200');
    // userinfo, read across origins too (the identity provider's CORS for this public client).
    assert.equal(await page.textContent('#who'), 'signed in as alice');
    assert.deepEqual(JSON.parse((await page.textContent('#result')) ?? ''), { user: 'alice' });
    assert.deepEqual(failed, []);
    await context.close();
  });

  test('the API refuses the same call without a token, and the page can read the 401', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(spa.url);
    const answer = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, body: await res.json() };
    }, `${dev.origin}/spa-api`);
    assert.equal(answer.status, 401);
    assert.equal(answer.body.error, 'SDK_TOKEN_MISSING');
    await context.close();
  });
});
