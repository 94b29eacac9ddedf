/**
 * bench/console: the admin console's first load in Chromium on loopback — bytes transferred (all,
 * and JavaScript gzip-compressed), time to interactive — and the admin API calls each page makes.
 *
 *   ./node_modules/.bin/node bench/console/first-load.ts [--runs 5] [--ready-seconds 300] [--origin URL]
 *
 * Starts `gatehouse dev` on a free port with a fresh data folder (or, with --origin, uses one already
 * running with the demo accounts), signs in as alice (not measured),
 * then opens each console page `--runs` times in a fresh tab with the HTTP cache off and reports the
 * median. Time to interactive is the navigation's `domInteractive` (the pages are drawn on the server
 * and run at most one deferred script of their own, so the page answers input once it is parsed) and
 * its `loadEventEnd` alongside. The admin API calls are what the console reports in its
 * `Server-Timing: admin` header for the page.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { benchArgs } from '../bench-args.ts';

const values = benchArgs(import.meta.url, {
  runs: { type: 'string', default: '5' },
  'ready-seconds': { type: 'string', default: '300' },
  origin: { type: 'string' },
});
const runs = Number(values.runs);
const bin = new URL('../../packages/cli/src/bin.ts', import.meta.url).pathname;
const PAGES = ['users', 'groups', 'clients', 'roles', 'identity', 'gateway', 'keys', 'audit', 'permissions'];

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dataDir = mkdtempSync(join(tmpdir(), 'gh-bench-console-'));
const [port, app1, app2] = [await freePort(), await freePort(), await freePort()];
const origin = values.origin ?? `http://localhost:${port}`;
const child = values.origin
  ? undefined
  : spawn(process.execPath, [bin, 'dev'], {
      env: {
        ...process.env,
        GATEHOUSE_LOG__LEVEL: 'warn',
        GATEHOUSE_SERVER__PORT: String(port),
        GATEHOUSE_SERVER__PUBLIC_URL: origin,
        GATEHOUSE_STORAGE__DATA_DIR: dataDir,
        GATEHOUSE_SSO_APP1_PORT: String(app1),
        GATEHOUSE_SSO_APP2_PORT: String(app2),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const deadline = Date.now() + Number(values['ready-seconds']) * 1000;
  for (;;) {
    const ok = await fetch(`${origin}/auth/.well-known/openid-configuration`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if ((child && child.exitCode !== null) || Date.now() > deadline)
      throw new Error('gatehouse dev did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  const context = await browser.newContext();
  const signIn = await context.newPage();
  await signIn.goto(`${origin}/admin/users`);
  await signIn.waitForURL((u) => u.pathname.startsWith('/auth/interaction/'));
  await signIn.fill('#username', 'alice');
  await signIn.fill('#password', 'alice-password');
  await signIn.click('button[type="submit"]');
  await signIn.waitForURL((u) => u.pathname === '/admin/users');
  await signIn.close();

  console.log(`gatehouse dev at ${origin}; ${runs} loads per page, median; HTTP cache off\n`);
  console.log(
    '| page | requests | bytes transferred | JS (gzip) | domInteractive | load | admin API calls |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const name of PAGES) {
    const transferred: number[] = [];
    const jsGzip: number[] = [];
    const interactive: number[] = [];
    const loaded: number[] = [];
    let requests = 0;
    let calls = '';
    for (let i = 0; i < runs; i++) {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      let bytes = 0;
      let count = 0;
      cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => {
        bytes += e.encodedDataLength;
        count++;
      });
      const scripts: Promise<number>[] = [];
      page.on('response', (res) => {
        if (res.request().resourceType() === 'script')
          scripts.push(res.body().then((b) => gzipSync(b).length));
      });
      const res = await page.goto(`${origin}/admin/${name}`, { waitUntil: 'load' });
      const timing = (await page.evaluate(() => {
        const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
        return { interactive: n.domInteractive, load: n.loadEventEnd };
      })) as { interactive: number; load: number };
      await page.waitForTimeout(100);
      transferred.push(bytes);
      jsGzip.push((await Promise.all(scripts)).reduce((a, b) => a + b, 0));
      interactive.push(timing.interactive);
      loaded.push(timing.load);
      requests = count;
      const serverTiming = res?.headers()['server-timing'] ?? '';
      calls = /desc="([^"]*)"/.exec(serverTiming)?.[1] ?? '';
      await page.close();
    }
    console.log(
      `| /admin/${name} | ${requests} | ${(median(transferred) / 1024).toFixed(1)} KB | ${(median(jsGzip) / 1024).toFixed(2)} KB | ${median(interactive).toFixed(0)} ms | ${median(loaded).toFixed(0)} ms | ${calls.replace(/\/users\/[0-9a-f-]{36}/g, '/users/{id}')} |`,
    );
  }
} finally {
  await browser.close();
  if (child) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dataDir, { recursive: true, force: true });
}
