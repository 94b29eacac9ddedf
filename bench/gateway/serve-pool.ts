/**
 * One role of bench/gateway/run.ts: the upstream pool alone (undici dispatch, streaming, no
 * routing, authentication or headers work), to split the gateway's cost into proxying and pipeline.
 * Env: BENCH_PORT, BENCH_UPSTREAM, BENCH_WORKERS.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { createLogger, createMetricsRegistry, sendError } from '@gatehouse/core';
import { createUpstreamPool, forkWorkers, listenReusePort } from '@gatehouse/gateway';

const workers = Number(process.env['BENCH_WORKERS'] ?? '1');
const logger = createLogger({ name: 'bench-pool', level: 'warn' });

if (cluster.isPrimary && workers > 1) {
  forkWorkers(workers, logger);
} else {
  const pool = createUpstreamPool(
    {
      id: 'bench',
      upstreams: [process.env['BENCH_UPSTREAM']!],
      balance: 'round-robin',
      timeoutMs: 30_000,
      retries: 1,
    },
    { logger, metrics: createMetricsRegistry('bench-pool') },
  );
  const server = createServer((req, res) => {
    pool
      .forward(req, res, { path: req.url ?? '/', headers: { host: req.headers.host ?? 'localhost' } })
      .catch((err: unknown) => sendError(res, err));
  });
  await listenReusePort(server, { port: Number(process.env['BENCH_PORT']), host: '127.0.0.1' });
  // An orderly exit, so that `--cpu-prof` (profile.ts) writes its profile.
  process.once('SIGTERM', () => process.exit(0));
}
