// CPU per request of the gateway's request metrics alone (createGatewayMetrics().observeRequest):
// this checkout's, and that of each other gateway-metrics.ts given, alternately in fresh processes.
//   node bench/gateway/metrics-cost.ts [--runs 3] [OTHER/ops/gateway-metrics.ts ...]
// A whole-gateway comparison (run.ts --pairs) cannot see a difference of a microsecond on a loaded
// machine; this measures that part of the request alone, with process CPU time, not wall time.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROUNDS = 5;
const N = 1_000_000;
const { values: args, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, child: { type: 'string' } },
  allowPositionals: true,
});

if (args.child) {
  const { Registry } = await import('@gatehouse/core');
  const { createGatewayMetrics } = (await import(args.child)) as {
    createGatewayMetrics(r: InstanceType<typeof Registry>): {
      observeRequest(route: string, method: string, status: number, seconds: number): void;
    };
  };
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry);
  const routes = ['products', 'orders', 'users', 'health'];
  const out: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < N; i++) metrics.observeRequest(routes[i & 3]!, 'GET', 200, 0.0004 + (i & 7) * 0.001);
    const used = process.cpuUsage(start);
    out.push(((used.user + used.system) * 1000) / N);
    await registry.metrics(); // what a scrape reads, so deferred work is not left out
  }
  console.log(JSON.stringify(out));
} else {
  const modules = [
    resolve(import.meta.dirname, '../../packages/gateway/src/ops/gateway-metrics.ts'),
    ...positionals.map((p) => resolve(p)),
  ];
  const results = new Map<string, number[]>(modules.map((m) => [m, []]));
  for (let run = 0; run < Number(args.runs); run++) {
    // ABBA over the runs, so that a drift in the machine's load touches every module alike.
    const order = run % 2 === 0 ? modules : [...modules].reverse();
    for (const m of order) {
      const child = spawnSync(process.execPath, [import.meta.filename, '--child', m], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(child.stderr);
      // The first round warms the JIT up: not counted.
      results.get(m)!.push(...(JSON.parse(child.stdout) as number[]).slice(1));
    }
  }
  for (const [m, ns] of results) {
    const sorted = [...ns].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `${median.toFixed(0).padStart(6)} ns CPU per request (median of ${ns.length}; ${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)})  ${m}`,
    );
  }
}
