/**
 * Token verification throughput of @gatehouse/sdk beside the physical limit on this machine.
 *
 *   ./node_modules/.bin/node bench/sdk/verify.ts [--seconds 1]   (per scenario, at most 10)
 *
 * - raw: node:crypto ES256 verify of one signature (the floor no verifier can beat);
 * - uncached: createVerifier with cacheSize 0 (header checks, jose signature and claims, principal);
 * - cached: the same token again from the verified-token cache;
 * - call latency: sequential HTTP requests over keep-alive to a node:http service, without a guard
 *   and with the sdk guard and a service token (cached), to show what authentication adds per call.
 * Bounded: about 6 × the given seconds in all. Keys are made in memory; no identity provider is needed.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { createVerifier } from '@gatehouse/sdk';
import { createNodeGuard } from '@gatehouse/sdk/node-http';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { benchArgs } from '../bench-args.ts';

const seconds = Number(benchArgs(import.meta.url, { seconds: { type: 'string', default: '1' } }).seconds);
if (!(seconds > 0 && seconds <= 10)) {
  process.stderr.write('--seconds must be a number in (0, 10]\n');
  process.exit(2);
}

/** Run `fn` repeatedly for the time budget; returns operations per second. */
async function rate(fn: () => unknown | Promise<unknown>, budgetMs = seconds * 1000): Promise<number> {
  for (let i = 0; i < 200; i++) await fn(); // warm up
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs) {
    for (let i = 0; i < 100; i++) await fn();
    ops += 100;
    now = performance.now();
  }
  return ops / ((now - start) / 1000);
}

const issuer = 'http://localhost:8080/auth';
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const publicJwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' };
const verifyKey = await importJWK(publicJwk, 'ES256');
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({
  sub: 'products',
  client_id: 'products',
  scope: 'orders:add',
  roles: [],
  jti: 'bench-jti',
})
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'bench' })
  .setIssuer(issuer)
  .setAudience('orders')
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(privateKey);

// Raw: one P-256 ECDSA verify over the same signing input, signature in JOSE's r||s form.
const [h, p, s] = token.split('.') as [string, string, string];
const signingInput = Buffer.from(`${h}.${p}`);
const signature = Buffer.from(s, 'base64url');
const nodeKey = createPublicKey({ key: publicJwk, format: 'jwk' });
const raw = await rate(() => {
  if (!cryptoVerify('sha256', signingInput, { key: nodeKey, dsaEncoding: 'ieee-p1363' }, signature)) {
    throw new Error('raw verify failed');
  }
});

const uncachedVerifier = createVerifier({
  issuer,
  audiences: ['orders'],
  cacheSize: 0,
  getKey: async () => verifyKey,
});
const uncached = await rate(() => uncachedVerifier.verifyAccessToken(token));
const cachedVerifier = createVerifier({ issuer, audiences: ['orders'], getKey: async () => verifyKey });
const cached = await rate(() => cachedVerifier.verifyAccessToken(token));

async function serve(listener: RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const agent = new Agent({ connections: 1 });
async function latencyUs(url: string, headers: Record<string, string>): Promise<number> {
  const perSecond = await rate(async () => {
    const res = await request(url, { headers, dispatcher: agent });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  });
  return 1e6 / perSecond;
}

const plain = await serve((_req, res) => res.end('ok'));
const guard = createNodeGuard({ verifier: cachedVerifier });
const guarded = await serve(guard.protect((_req, res) => res.end('ok'), guard.requireScopes('orders:add')));
const plainUs = await latencyUs(plain.url, {});
const guardedUs = await latencyUs(guarded.url, { authorization: `Bearer ${token}` });
await plain.close();
await guarded.close();
await agent.close();

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`command: ./node_modules/.bin/node bench/sdk/verify.ts --seconds ${seconds}`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}`);
console.log(`raw node:crypto ES256 verify   ${fmt(raw).padStart(12)} /s  (the physical limit)`);
console.log(
  `sdk verify, uncached           ${fmt(uncached).padStart(12)} /s  (${((uncached / raw) * 100).toFixed(0)}% of raw)`,
);
console.log(
  `sdk verify, cached             ${fmt(cached).padStart(12)} /s  (${(cached / raw).toFixed(0)}× raw)`,
);
console.log(`HTTP call, no authentication   ${plainUs.toFixed(1).padStart(12)} µs per call`);
console.log(
  `HTTP call, sdk guard (cached)  ${guardedUs.toFixed(1).padStart(12)} µs per call  (+${(guardedUs - plainUs).toFixed(1)} µs)`,
);
