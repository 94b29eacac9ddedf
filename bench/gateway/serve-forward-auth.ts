/**
 * One role of bench/gateway/run.ts: the token-verifying service nginx `auth_request` calls on
 * every request (the e-commerce system's Traefik ForwardAuth → /validate architecture). It
 * verifies with the same sdk verifier as the gateway, verified-token cache included, so the
 * comparison measures the architecture (an extra hop per request), not a slower verifier.
 * Env: BENCH_PORT, BENCH_JWK, BENCH_WORKERS.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { createLogger } from '@gatehouse/core';
import { forkWorkers, listenReusePort } from '@gatehouse/gateway';
import { createVerifier } from '@gatehouse/sdk';
import { createLocalJWKSet, type JWK } from 'jose';
import { BENCH_AUDIENCE, BENCH_ISSUER } from './token.ts';

const workers = Number(process.env['BENCH_WORKERS'] ?? '1');
const logger = createLogger({ name: 'bench-forward-auth', level: 'warn' });

if (cluster.isPrimary && workers > 1) {
  forkWorkers(workers, logger);
} else {
  const verifier = createVerifier({
    issuer: BENCH_ISSUER,
    audiences: [BENCH_AUDIENCE],
    algorithms: ['ES256'],
    getKey: createLocalJWKSet({ keys: [JSON.parse(process.env['BENCH_JWK']!) as JWK] }),
  });
  const server = createServer(async (req, res) => {
    try {
      // As the gateway reads it (authenticate.ts): same verifier, same cache, same fast path.
      const p = await verifier.verifyAuthorization(req.headers.authorization);
      res.writeHead(200, { 'x-user-id': p.subject, 'x-user-roles': p.roles.join(',') }).end();
    } catch {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    }
  });
  await listenReusePort(server, { port: Number(process.env['BENCH_PORT']), host: '127.0.0.1' });
  // An orderly exit, so that `--cpu-prof` (profile.ts) writes its profile.
  process.once('SIGTERM', () => process.exit(0));
}
