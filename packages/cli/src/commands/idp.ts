import { createServer } from 'node:http';
import {
  createLogger,
  createMetricsRegistry,
  createTracing,
  outlastBalancerIdleTimeouts,
  Shutdown,
  traceRequests,
  withOpsEndpoints,
} from '@gatehouse/core';
import type { IdpConfig } from '@gatehouse/idp';
import { type Command, configHelp, configOptions } from '../command.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { demoEnabled } from '../production-guard.ts';
import { listen, openSharedState, openStorage } from '../runtime.ts';

export const idpCommand: Command = {
  name: 'idp',
  summary: 'Run the identity provider alone (one Kubernetes Deployment per verb)',
  usage: 'gatehouse idp [--config FILE] [--port PORT] [--host HOST]',
  help: `Serves the OpenID Provider (under the issuer's path, /auth by default), the first-party
session API (/authentication) and the admin API, plus /health/live, /health/ready and /metrics.
Applies pending migrations under a lock at start. In development mode it seeds the demo clients
and accounts (demo.enabled, default true in development) like gatehouse dev. Put a gateway in front of it for the public origin:
route /auth and /authentication to this process with forwardToken: true.

${configHelp}
  -p, --port PORT     listen port (default server.port)
      --host HOST     listen address (default server.host)`,
  options: { ...configOptions, port: { type: 'string', short: 'p' }, host: { type: 'string' } },
  async run({ values }) {
    const config = loadConfigOrReport('idp', values.config);
    if (!config) return 1;
    const { createIdp, seedDevelopmentFixtures } = await import('@gatehouse/idp');
    const logger = createLogger({ level: config.log.level, name: 'gatehouse-idp' });
    const shutdown = new Shutdown(logger, config.server.shutdownTimeoutMs, config.server.drainDelayMs);
    // Registered first, so it closes last: the spans of the requests drained are still sent.
    const tracing = await createTracing(config.telemetry.traces, 'gatehouse-idp');
    shutdown.add('tracing', () => tracing.shutdown());
    const sql = await openStorage(config, logger);
    shutdown.add('sql', () => sql.close());
    const state = await openSharedState(config);
    shutdown.add('state', () => state.close());
    const metrics = createMetricsRegistry('idp');
    const idp = await createIdp({
      config: config.idp as unknown as IdpConfig,
      mode: config.mode,
      publicUrl: config.server.publicUrl,
      sql,
      state,
      logger,
      metrics,
    });
    shutdown.add('idp', () => idp.close());
    if (demoEnabled(config)) await seedDevelopmentFixtures(idp);
    const server = createServer(
      withOpsEndpoints(traceRequests(idp.handler, tracing), {
        // Without Redis the idp still issues tokens and signs in (see createBruteForceGuard).
        checks: { storage: () => sql.ping() },
        degradable: { state: () => state.ping() },
        draining: () => shutdown.draining,
        metrics,
      }),
    );
    outlastBalancerIdleTimeouts(server);
    shutdown.addServer(server);
    shutdown.installSignalHandlers();
    const port = typeof values.port === 'string' ? Number(values.port) : config.server.port;
    const url = await listen(
      server,
      port,
      typeof values.host === 'string' ? values.host : config.server.host,
    );
    logger.info({ url, issuer: idp.issuer }, 'identity provider listening');
    return undefined;
  },
};
