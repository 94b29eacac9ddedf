/**
 * One role of bench/gateway/run.ts: the Gatehouse gateway in front of the bench upstream.
 * Env: BENCH_PORT, BENCH_UPSTREAM (URL), BENCH_JWK (the public ES256 JWK), BENCH_AUTH (on|off),
 * BENCH_GATEWAY_MODULE (default @gatehouse/gateway), BENCH_TREE (another checkout of the repository,
 * with its node_modules: its own @gatehouse/gateway and @gatehouse/core, resolved from there as any
 * user of the packages would, so the whole tree is compared), BENCH_WORKERS (processes sharing the port through SO_REUSEPORT), BENCH_LOG_LEVEL (default warn:
 * no access log, as nginx runs with access_log off; info: the JSON access log, written through the
 * asynchronous stdout destination `gatehouse gateway` uses; run.ts sends stdout to /dev/null).
 */
import cluster from 'node:cluster';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { forkWorkers, listenReusePort } from '@gatehouse/gateway';
import { createLocalJWKSet, type JWK } from 'jose';
import { BENCH_AUDIENCE, BENCH_ISSUER } from './token.ts';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

const tree = process.env['BENCH_TREE'];
/** A package's public entry point, from this checkout or from BENCH_TREE's. */
async function load<T>(name: string): Promise<T> {
  if (tree === undefined) return (await import(name)) as T;
  return (await import(pathToFileURL(createRequire(join(tree, 'package.json')).resolve(name)).href)) as T;
}

const { createLogger, openState } = await load<typeof import('@gatehouse/core')>('@gatehouse/core');
const workers = Number(process.env['BENCH_WORKERS'] ?? '1');
const logger = createLogger({
  name: 'bench-gateway',
  level: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
  sync: false,
});

if (cluster.isPrimary && workers > 1) {
  forkWorkers(workers, logger);
} else {
  // BENCH_GATEWAY_MODULE: another copy of the gateway's sources (run.ts --baseline); BENCH_TREE:
  // another checkout (run.ts --baseline-tree); either is compared in one run with this one.
  const { createGateway } = await load<typeof import('@gatehouse/gateway')>(
    process.env['BENCH_GATEWAY_MODULE'] ?? '@gatehouse/gateway',
  );
  const jwk = JSON.parse(env('BENCH_JWK')) as JWK;
  const state = await openState({ driver: 'memory' });
  const gateway = await createGateway({
    state,
    logger,
    getKey: createLocalJWKSet({ keys: [jwk] }),
    config: {
      auth: {
        issuer: BENCH_ISSUER,
        audiences: [BENCH_AUDIENCE],
        algorithms: ['ES256'],
        sessionCookie: false,
      },
      routes: [
        {
          id: 'bench',
          match: { path: '/' },
          upstreams: [env('BENCH_UPSTREAM')],
          policy: process.env['BENCH_AUTH'] === 'on' ? 'authenticated' : 'public',
        },
      ],
    },
  });
  await listenReusePort(gateway.server, { port: Number(env('BENCH_PORT')), host: '127.0.0.1' });
  process.once('SIGTERM', () => void gateway.close().then(() => process.exit(0)));
}
