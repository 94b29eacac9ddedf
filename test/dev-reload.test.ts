// `gatehouse dev` reloads gateway.routes from its configuration file, like `gatehouse gateway`:
// on a change to the file and on SIGHUP, which must never stop the stack.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '@gatehouse/core/testing';
import { type DevStack, startDevStack } from './support/dev-process.ts';

function routesYaml(upstream: string, paths: string[]): string {
  return `gateway:
  routes:
${paths.map((p) => `    - id: r${p.replace(/\W/g, '')}\n      match: { path: ${p} }\n      upstreams: [${upstream}]\n      policy: public`).join('\n')}
`;
}

describe('gatehouse dev reloads its routes', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-dev-reload-'));
  const file = join(dir, 'gatehouse.yaml');
  let upstream: Server;
  let upstreamUrl = '';
  let dev: DevStack;

  before(async () => {
    upstream = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`upstream saw ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    writeFileSync(file, routesYaml(upstreamUrl, ['/first']));
    dev = await startDevStack({ GATEHOUSE_CONFIG: file, GATEHOUSE_LOG__LEVEL: 'info' });
  });
  after(async () => {
    await dev?.close();
    upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = (path: string) =>
    fetch(`${dev.origin}${path}`).then(
      (r) => r.status,
      () => 0,
    );

  test('the file’s routes are served next to the built-in ones', async () => {
    assert.equal(await status('/first'), 200);
    assert.equal(await status('/second'), 404);
  });

  test('editing the file adds a route without a restart', async () => {
    writeFileSync(file, routesYaml(upstreamUrl, ['/first', '/second']));
    await waitFor(async () => (await status('/second')) === 200, { timeoutMs: 15_000, intervalMs: 100 });
    // The built-in routes are still there.
    assert.equal(await status('/auth/.well-known/openid-configuration'), 200);
  });

  test('SIGHUP reloads and the stack keeps running', async () => {
    const before = dev.running.output().split('gateway configuration applied').length;
    dev.running.child.kill('SIGHUP');
    await waitFor(() => dev.running.output().split('gateway configuration applied').length > before, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    assert.match(dev.running.output(), /"reason":"SIGHUP"[^\n]*gateway configuration applied/);
    assert.equal(dev.running.child.exitCode, null);
    assert.equal(await status('/first'), 200);
  });

  test('an invalid file is refused and logged; the routes in force stay', async () => {
    writeFileSync(file, 'gateway:\n  routes:\n    - id: broken\n      upstreams: [not a url]\n');
    await waitFor(() => dev.running.output().includes('gateway configuration not applied'), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    assert.equal(await status('/second'), 200);
    assert.equal(dev.running.child.exitCode, null);
  });
});

describe('gatehouse dev without a configuration file', { timeout: 240_000 }, () => {
  let dev: DevStack;
  before(async () => {
    dev = await startDevStack();
  });
  after(() => dev?.close());

  test('SIGHUP says there is nothing to reload and the stack keeps running', async () => {
    dev.running.child.kill('SIGHUP');
    await waitFor(() => dev.running.output().includes('SIGHUP: no configuration file to reload'), {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    assert.equal(dev.running.child.exitCode, null);
    const res = await fetch(`${dev.origin}/auth/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
  });
});
