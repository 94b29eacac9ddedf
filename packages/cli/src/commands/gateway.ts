import cluster from 'node:cluster';
import { authzMigrations } from '@gatehouse/authz';
import { createLogger, createTracing, migrate, openSql, Shutdown } from '@gatehouse/core';
import { type Command, configHelp, configOptions } from '../command.ts';
import { configFileOf, loadGatehouseConfig } from '../load-config.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { listen, openSharedState } from '../runtime.ts';

export const gatewayCommand: Command = {
  name: 'gateway',
  summary: 'Run the gateway alone, with the routes of the configuration file',
  usage: 'gatehouse gateway [--config FILE] [--port PORT] [--host HOST] [--workers N]',
  help: `Serves gateway.routes: verifies tokens locally against the identity provider's JWKS
(gateway.auth.jwksUri, default <issuer>/jwks), sets identity headers, applies policies and limits,
proxies to the upstreams. Operations endpoints under /_gatehouse/ (health, metrics, forward-auth).
Reloads the routes on SIGHUP or when the file changes; an invalid new file is refused and the old
routes stay. Use state.driver: redis so every replica shares rate limits and revocations, and set
gateway.auth.revocationFeed.url (the identity provider's /_gatehouse/revocations) so a revocation
whose message was lost is still enforced.

${configHelp}
  -p, --port PORT     listen port (default gateway.port, else server.port)
      --host HOST     listen address (default server.host)
  -w, --workers N     gateway processes sharing the port (default 1). With N > 1 the kernel spreads
                      connections over N processes bound with SO_REUSEPORT (Linux), so one gateway
                      instance uses N cores; the first process only starts, restarts and stops them
                      and passes SIGHUP on. The processes share nothing but the state: use
                      state.driver: redis so rate limits and revocations hold across them. Needs a
                      fixed port (not 0).

The access log (one JSON line per request at level info) is written to stdout asynchronously, off
the request path; lines still buffered are written when the process exits.`,
  options: {
    ...configOptions,
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    workers: { type: 'string', short: 'w' },
  },
  async run({ values }) {
    const workers = typeof values.workers === 'string' ? Number(values.workers) : 1;
    if (!Number.isInteger(workers) || workers < 1 || workers > 256) {
      console.error(
        `gatehouse gateway: --workers must be a whole number from 1 to 256\nUsage: ${gatewayCommand.usage}`,
      );
      return 2;
    }
    const config = loadConfigOrReport('gateway', values.config);
    if (!config) return 1;
    // `gateway.authz` without a url runs the permission engine in the gateway, on the storage the
    // authz service and the services writing relationships share: PostgreSQL, never a data folder
    // another process holds. Refused before anything is opened, so the process exits at once.
    const authzSection = (config.gateway as { authz?: { url?: string } }).authz;
    const inProcessEngine = authzSection !== undefined && authzSection.url === undefined;
    if (inProcessEngine && (config.storage.driver !== 'postgres' || !config.storage.url)) {
      console.error(
        'gatehouse gateway: gateway.authz without a url runs the permission engine in the gateway and needs storage.driver: postgres with storage.url; or set gateway.authz.url to an authz service',
      );
      return 1;
    }
    const { createGateway, forkWorkers, listenReusePort, watchGatewayConfig } = await import(
      '@gatehouse/gateway'
    );
    // Asynchronous stdout: the gateway writes an access-log line per request.
    const logger = createLogger({ level: config.log.level, name: 'gatehouse-gateway', sync: false });
    const section = config.gateway as { port?: number };
    const port = typeof values.port === 'string' ? Number(values.port) : (section.port ?? config.server.port);
    const host = typeof values.host === 'string' ? values.host : config.server.host;
    if (workers > 1 && cluster.isPrimary) {
      if (port === 0) {
        console.error('gatehouse gateway: --workers needs a fixed port, not 0');
        return 2;
      }
      // Workers run this same command line; each reloads its own routes, so SIGHUP goes to all.
      forkWorkers(workers, logger);
      process.on('SIGHUP', () => {
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
      });
      logger.info({ workers, port, host }, 'gateway workers starting');
      return undefined;
    }
    const shutdown = new Shutdown(logger, config.server.shutdownTimeoutMs, config.server.drainDelayMs);
    // Registered first, so it closes last: the spans of the requests drained are still sent.
    const tracing = await createTracing(config.telemetry.traces, 'gatehouse-gateway');
    shutdown.add('tracing', () => tracing.shutdown());
    const state = await openSharedState(config);
    shutdown.add('state', () => state.close());
    let sql: Awaited<ReturnType<typeof openSql>> | undefined;
    if (inProcessEngine) {
      const opened = await openSql({ driver: 'postgres', url: config.storage.url! });
      shutdown.add('storage', () => opened.close());
      await migrate(opened, [authzMigrations]);
      sql = opened;
    }
    const gateway = await createGateway({
      config: config.gateway,
      state,
      logger,
      publicUrl: config.server.publicUrl,
      tracing,
      ...(sql ? { sql } : {}),
    });
    shutdown.addServer(gateway.server);
    shutdown.onDrain(() => gateway.drain());
    shutdown.add('gateway', () => gateway.close());
    const file = configFileOf(values.config);
    if (file) {
      const stop = watchGatewayConfig({
        file,
        load: () => loadGatehouseConfig(file).gateway,
        reload: (section) => gateway.reload(section),
        logger,
      });
      shutdown.add('config watch', stop);
    }
    shutdown.installSignalHandlers();
    if (workers > 1) {
      await listenReusePort(gateway.server, { port, host });
      logger.info(
        { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, pid: process.pid },
        'gateway worker listening',
      );
      return undefined;
    }
    const url = await listen(gateway.server, port, host);
    logger.info({ url }, 'gateway listening');
    return undefined;
  },
};
