import { createLogger, Shutdown } from '@gatehouse/core';
import { type Command, configHelp, configOptions } from '../command.ts';
import { configFileOf, loadGatehouseConfig } from '../load-config.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { listen, openSharedState } from '../runtime.ts';

export const gatewayCommand: Command = {
  name: 'gateway',
  summary: 'Run the gateway alone, with the routes of the configuration file',
  usage: 'gatehouse gateway [--config FILE] [--port PORT] [--host HOST]',
  help: `Serves gateway.routes: verifies tokens locally against the identity provider's JWKS
(gateway.auth.jwksUri, default <issuer>/jwks), sets identity headers, applies policies and limits,
proxies to the upstreams. Operations endpoints under /_gatehouse/ (health, metrics, forward-auth).
Reloads the routes on SIGHUP or when the file changes; an invalid new file is refused and the old
routes stay. Use state.driver: redis so every replica shares rate limits and revocations.

${configHelp}
  -p, --port PORT     listen port (default gateway.port, else server.port)
      --host HOST     listen address (default server.host)`,
  options: { ...configOptions, port: { type: 'string', short: 'p' }, host: { type: 'string' } },
  async run({ values }) {
    const config = loadConfigOrReport('gateway', values.config);
    if (!config) return 1;
    const { createGateway, watchGatewayConfig } = await import('@gatehouse/gateway');
    const logger = createLogger({ level: config.log.level, name: 'gatehouse-gateway' });
    const shutdown = new Shutdown(logger, config.server.shutdownTimeoutMs);
    const state = await openSharedState(config);
    shutdown.add('state', () => state.close());
    const gateway = await createGateway({
      config: config.gateway,
      state,
      logger,
      publicUrl: config.server.publicUrl,
    });
    shutdown.addServer(gateway.server);
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
    const section = config.gateway as { port?: number };
    const port = typeof values.port === 'string' ? Number(values.port) : (section.port ?? config.server.port);
    const url = await listen(
      gateway.server,
      port,
      typeof values.host === 'string' ? values.host : config.server.host,
    );
    logger.info({ url }, 'gateway listening');
    return undefined;
  },
};
