import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createLogger,
  type Logger,
  migrate,
  openSql,
  openState,
  type SharedState,
  Shutdown,
  type Sql,
} from '@gatehouse/core';
import { createGateway } from '@gatehouse/gateway';
import { createIdp, idpMigrations, seedDevelopmentFixtures } from '@gatehouse/idp';
import { createVerifier } from '@gatehouse/sdk';
import { createDemoService } from './demo-service.ts';
import type { GatehouseConfig } from './load-config.ts';

export interface Stack {
  logger: Logger;
  shutdown: Shutdown;
  gatewayUrl: string;
  issuer: string;
  idpUrl: string;
  demoUrl: string;
  demoSeeded: boolean;
}

export async function openStorage(config: GatehouseConfig, logger: Logger): Promise<Sql> {
  const sql =
    config.storage.driver === 'postgres'
      ? await openSql({ driver: 'postgres', url: requireValue(config.storage.url, 'storage.url') })
      : await openSql({ driver: 'pglite', dataDir: config.storage.dataDir });
  const applied = await migrate(sql, [idpMigrations]);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  return sql;
}

export async function openSharedState(config: GatehouseConfig): Promise<SharedState> {
  return config.state.driver === 'redis'
    ? openState({ driver: 'redis', url: requireValue(config.state.url, 'state.url'), keyPrefix: config.state.keyPrefix })
    : openState({ driver: 'memory' });
}

function requireValue(value: string | undefined, key: string): string {
  if (!value) throw new Error(`${key} is required for this driver`);
  return value;
}

function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: bound } = server.address() as AddressInfo;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
    });
  });
}

/**
 * Everything `gatehouse dev` runs, in one process: the identity provider and the demo service on
 * internal loopback ports, and the gateway in front of both on `server.port`, so the whole system
 * shares one origin (`server.publicUrl`).
 */
export async function startStack(config: GatehouseConfig, options: { demo: boolean }): Promise<Stack> {
  const logger = createLogger({ level: config.log.level });
  const shutdown = new Shutdown(logger, config.server.shutdownTimeoutMs);
  try {
    const sql = await openStorage(config, logger);
    shutdown.add('sql', () => sql.close());
    const state = await openSharedState(config);
    shutdown.add('state', () => state.close());

    const idp = await createIdp({ config: config.idp, mode: config.mode, publicUrl: config.server.publicUrl, sql, state, logger });
    shutdown.add('idp', () => idp.close());
    if (options.demo) await seedDevelopmentFixtures(idp);

    const idpServer = createServer(idp.handler);
    shutdown.addServer(idpServer);
    const idpUrl = await listen(idpServer, 0, '127.0.0.1');

    const demoServer = createDemoService();
    shutdown.addServer(demoServer);
    const demoUrl = await listen(demoServer, 0, '127.0.0.1');

    const issuer = idp.issuer;
    const verifier = createVerifier({
      issuer,
      audiences: [idp.defaultAudience],
      // The gateway reads the JWKS straight from the idp's internal port, not through itself.
      jwksUri: `${idpUrl}${new URL(issuer).pathname}/jwks`,
    });
    const gatewayConfig = {
      ...config.gateway,
      routes: [
        { id: 'idp', match: { path: '/auth' }, upstreams: [idpUrl], policy: 'public' },
        { id: 'authentication', match: { path: '/authentication' }, upstreams: [idpUrl], policy: 'public' },
        { id: 'demo-echo', match: { path: '/echo' }, upstreams: [demoUrl], policy: 'authenticated' },
        ...((config.gateway.routes as unknown[]) ?? []),
      ],
    };
    const gateway = await createGateway({ config: gatewayConfig, state, logger, verifier });
    shutdown.addServer(gateway.server);
    shutdown.add('gateway', () => gateway.close());
    const gatewayUrl = await listen(gateway.server, config.server.port, config.server.host);
    return { logger, shutdown, gatewayUrl, issuer, idpUrl, demoUrl, demoSeeded: options.demo };
  } catch (err) {
    await shutdown.close();
    throw err;
  }
}
