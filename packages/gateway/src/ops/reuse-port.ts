import cluster from 'node:cluster';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@gatehouse/core';
import { gatewayErrors } from '../errors.ts';

/**
 * Use every core: N gateway processes each bind the same port with SO_REUSEPORT (Node ≥ 22.12 /
 * 23.1 on Linux) and the kernel spreads new connections across them. Unlike node:cluster's default
 * scheduling, no primary process accepts and hands over connections, so the hot path has no extra
 * hop. The workers share nothing but the shared state (use Redis so limits and revocations hold
 * across them).
 *
 * ```ts
 * if (cluster.isPrimary && workers > 1) forkWorkers(workers, logger);
 * else await listenReusePort((await createGateway(options)).server, { port: 8080, host: '0.0.0.0' });
 * ```
 */
export async function listenReusePort(
  server: Server,
  options: { port: number; host: string },
): Promise<AddressInfo> {
  if (options.port === 0)
    throw gatewayErrors.create(
      'GW_CONFIG_INVALID',
      'listenReusePort needs a fixed port: port 0 gives each process its own',
    );
  // exclusive: inside a cluster worker, bind the socket here instead of asking the primary for a shared one.
  server.listen({ port: options.port, host: options.host, reusePort: true, exclusive: true });
  await once(server, 'listening');
  return server.address() as AddressInfo;
}

/**
 * In the primary: start `count` workers running this same entry point, restart one that dies
 * unexpectedly (at most once a second), and pass SIGTERM/SIGINT on so each drains, then exit.
 */
export function forkWorkers(
  count: number,
  logger: Logger,
  exit: (code: number) => void = (c) => process.exit(c),
): void {
  if (!cluster.isPrimary) throw new Error('forkWorkers runs in the primary process');
  let stopping = false;
  let lastRestart = 0;
  for (let i = 0; i < count; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) exit(0);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'gateway worker exited; starting another');
    const wait = Math.max(0, lastRestart + 1000 - Date.now());
    lastRestart = Date.now() + wait;
    setTimeout(() => cluster.fork(), wait);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping gateway workers');
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) exit(0);
    for (const w of workers) w?.process.kill(signal);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
