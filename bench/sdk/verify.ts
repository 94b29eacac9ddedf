/**
 * Token verification throughput of @gatehouse/sdk beside the physical limit on this machine.
 *
 *   ./node_modules/.bin/node bench/sdk/verify.ts [--seconds 1]   (per scenario, at most 10)
 *   ./node_modules/.bin/node bench/sdk/verify.ts --pairs 8 --baseline DIR [--seconds 1]
 *
 * - raw: node:crypto ES256 verify of one signature (the floor no verifier can beat);
 * - uncached: createVerifier with cacheSize 0 (header checks, jose signature and claims, principal);
 * - cached: the same token again from the verified-token cache;
 * - call latency: sequential HTTP requests over keep-alive to a node:http service, without a guard
 *   and with the sdk guard and a service token (cached), to show what authentication adds per call.
 * Bounded: about 6 × the given seconds in all. Keys are made in memory; no identity provider is needed.
 *
 * --pairs N --baseline DIR: this sdk against another copy of packages/sdk/src (DIR, e.g. made with
 * `git archive <commit> packages/sdk/src | tar -x --strip-components=3 -C DIR`), in one process, N
 * pairs in ABBA order (pair 1 this then the baseline, pair 2 the baseline then this, ...), for the
 * uncached and cached verification of a low-s token (what the identity provider issues) and the
 * uncached verification of a high-s one, as CPU time per verification measured in alternating batches
 * of a few milliseconds (steadier than wall-clock rates on a shared machine), each side and scenario
 * with a batch loop compiled for it alone. Each pair's ratio and the median with quartiles are printed.
 * About 6 × N × the given seconds.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createVerifier } from '@gatehouse/sdk';
import { createNodeGuard } from '@gatehouse/sdk/node-http';
import { exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import { Agent, request } from 'undici';
import { benchArgs } from '../bench-args.ts';

const args = benchArgs(import.meta.url, {
  seconds: { type: 'string', default: '1' },
  pairs: { type: 'string', default: '0' },
  baseline: { type: 'string' },
});
const seconds = Number(args.seconds);
const pairs = Number(args.pairs);
if (!(Number.isInteger(pairs) && pairs >= 0 && pairs <= 40) || pairs > 0 !== (args.baseline !== undefined)) {
  process.stderr.write('--pairs N (1-40) and --baseline DIR go together\n');
  process.exit(2);
}
if (!(seconds > 0 && seconds <= 10)) {
  process.stderr.write('--seconds must be a number in (0, 10]\n');
  process.exit(2);
}

/**
 * `verifier.verifyAccessToken(token)` as a function of its own, with a batch loop of its own: the
 * code is compiled afresh (new Function) for each side, because one loop or one arrow shared by A
 * and B is one call site with both as targets, and the JIT may inline one side and not the other,
 * which moves a sub-microsecond path by far more than what is measured.
 */
function ownBatch(verifier: { verifyAccessToken(t: string): Promise<unknown> }, token: string) {
  return new Function(
    'verifier',
    'token',
    'return async (n) => { for (let i = 0; i < n; i++) await verifier.verifyAccessToken(token); };',
  )(verifier, token) as (n: number) => Promise<void>;
}

/**
 * CPU time per operation of `a` and of `b` (user + system of this process, every thread), measured
 * in alternating batches in ABBA order over the time budget: on a shared machine the load moves
 * within a second, and batches a few milliseconds apart see the same load, where wall-clock rates
 * measured one after the other would compare two different machines.
 */
async function interleavedCpu(
  a: (n: number) => Promise<void>,
  b: (n: number) => Promise<void>,
  batch: number,
  budgetMs = seconds * 1000,
): Promise<{ a: number; b: number }> {
  for (let i = 0; i < 200; i++) {
    await a(1);
    await b(1);
  }
  const used = { a: 0, b: 0 };
  const ops = { a: 0, b: 0 };
  const start = performance.now();
  for (let round = 0; performance.now() - start < budgetMs; round++) {
    for (const side of round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      const run = side === 'a' ? a : b;
      const before = process.cpuUsage();
      await run(batch);
      const after = process.cpuUsage(before);
      used[side] += after.user + after.system;
      ops[side] += batch;
    }
  }
  return { a: used.a / ops.a, b: used.b / ops.b };
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
const P256_HALF_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n >> 1n;
const isLowS = (jws: string) =>
  BigInt(
    `0x${Buffer.from(jws.slice(jws.lastIndexOf('.') + 1), 'base64url')
      .subarray(32)
      .toString('hex')}`,
  ) <= P256_HALF_ORDER;
/** A service token; WebCrypto signs with either half of s, so sign until it is of the kind asked for. */
async function serviceToken(lowS: boolean): Promise<string> {
  for (;;) {
    const jws = await new SignJWT({
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
    if (isLowS(jws) === lowS) return jws;
  }
}
// Low s, as the identity provider signs.
const token = await serviceToken(true);

if (pairs > 0) {
  await comparePairs(resolve(args.baseline as string, 'index.ts'), await serviceToken(false));
  process.exit(0);
}

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

/** --pairs: this sdk (A) against the baseline (B), back to back in ABBA order. */
async function comparePairs(baselineModule: string, highS: string): Promise<void> {
  const baseline = (await import(baselineModule)) as { createVerifier: typeof createVerifier };
  const getKey = async () => verifyKey;
  const scenarios = [
    // Batches of a few milliseconds each.
    { name: 'uncached, low-s token', cacheSize: 0, token, batch: 20 },
    { name: 'cached, low-s token', cacheSize: 10_000, token, batch: 10_000 },
    { name: 'uncached, high-s token', cacheSize: 0, token: highS, batch: 20 },
  ].map((s) => {
    const make = (mod: { createVerifier: typeof createVerifier }) =>
      mod.createVerifier({ issuer, audiences: ['orders'], cacheSize: s.cacheSize, getKey });
    return {
      ...s,
      a: ownBatch(make({ createVerifier }), s.token),
      b: ownBatch(make(baseline), s.token),
      ratios: [] as number[],
    };
  });
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `this sdk (A) vs ${baselineModule} (B), ${pairs} pairs in ABBA order, ${seconds} s per scenario and pair in alternating ABBA batches; CPU µs per verification (user + system of this process); A÷B: verifications per CPU-second, A over B`,
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}, load average before: ${load}`,
  );
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const cells: string[] = [];
    for (const s of scenarios) {
      const first = s[order[0]];
      const second = s[order[1]];
      const m = await interleavedCpu(first, second, s.batch);
      const r = order[0] === 'a' ? m : { a: m.b, b: m.a };
      // A÷B as verifications per CPU-second: above 1, A is cheaper.
      s.ratios.push(r.b / r.a);
      cells.push(`${s.name}: A ${r.a.toFixed(2)} µs, B ${r.b.toFixed(2)} µs, A÷B ${(r.b / r.a).toFixed(3)}`);
    }
    console.log(`pair ${i + 1} (${order.join('').toUpperCase()}): ${cells.join(' | ')}`);
  }
  const q = (sorted: number[], p: number) =>
    sorted[Math.min(sorted.length - 1, Math.round(p * (sorted.length - 1)))]!;
  for (const s of scenarios) {
    const sorted = [...s.ratios].sort((x, y) => x - y);
    const cost = (ratio: number) => `${((1 - ratio) * 100).toFixed(1)}%`;
    console.log(
      `${s.name.padEnd(24)} A÷B median ${q(sorted, 0.5).toFixed(3)} (cost ${cost(q(sorted, 0.5))}), quartiles ${q(sorted, 0.25).toFixed(3)}–${q(sorted, 0.75).toFixed(3)}, min ${sorted[0]!.toFixed(3)}, max ${sorted.at(-1)!.toFixed(3)}`,
    );
  }
  const load2 = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(`load average after: ${load2}`);
  console.log(
    `reproduce: ./node_modules/.bin/node bench/sdk/verify.ts --pairs ${pairs} --seconds ${seconds} --baseline ${args.baseline}`,
  );
}
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
