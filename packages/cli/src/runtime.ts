import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  coreErrors,
  type Logger,
  migrate,
  openSql,
  openState,
  type SharedState,
  type Sql,
} from '@gatehouse/core';
import type { GatehouseConfig } from './load-config.ts';

// The identity provider's migrations folder, found without loading the identity provider itself
// (the gateway verb must not pay for oidc-provider at start-up).
const idpMigrations = {
  component: 'idp',
  dir: new URL('../migrations/', import.meta.resolve('@gatehouse/idp')),
};

/** Open the configured SQL storage and apply pending migrations (under the advisory lock). */
export async function openStorage(
  config: GatehouseConfig,
  logger: Logger,
  onApplied?: (applied: string[]) => void,
): Promise<Sql> {
  const sql =
    config.storage.driver === 'postgres'
      ? await openSql({ driver: 'postgres', url: requireValue(config.storage.url, 'storage.url') })
      : await openSql({ driver: 'pglite', dataDir: config.storage.dataDir });
  const applied = await migrate(sql, [idpMigrations]);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  onApplied?.(applied);
  return sql;
}

export async function openSharedState(config: GatehouseConfig): Promise<SharedState> {
  return config.state.driver === 'redis'
    ? openState({
        driver: 'redis',
        url: requireValue(config.state.url, 'state.url'),
        keyPrefix: config.state.keyPrefix,
      })
    : openState({ driver: 'memory' });
}

function requireValue(value: string | undefined, key: string): string {
  if (!value) throw coreErrors.create('GH_CONFIG_INVALID', `${key} is required for this driver`);
  return value;
}

export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: bound } = server.address() as AddressInfo;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}`);
    });
  });
}
