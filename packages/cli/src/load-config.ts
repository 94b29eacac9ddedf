import { existsSync } from 'node:fs';
import { type AuthzConfig, authzConfigSchema } from '@gatehouse/authz/config-schema';
import { type CoreConfig, loadConfig } from '@gatehouse/core';
import { gatewayConfigSchema } from '@gatehouse/gateway/config-schema';
import { idpConfigSchema } from '@gatehouse/idp/config-schema';

export type GatehouseConfig = CoreConfig & {
  idp: Record<string, unknown>;
  gateway: Record<string, unknown>;
  authz: AuthzConfig;
};

/** The file the CLI reads: --config, else $GATEHOUSE_CONFIG, else ./gatehouse.yaml when present. */
export function configFileOf(flag: unknown, env = process.env): string | undefined {
  if (typeof flag === 'string') return flag;
  if (env.GATEHOUSE_CONFIG) return env.GATEHOUSE_CONFIG;
  return existsSync('gatehouse.yaml') ? 'gatehouse.yaml' : undefined;
}

/** Load and validate the whole configuration, every package's section included. */
export function loadGatehouseConfig(flag: unknown, env = process.env): GatehouseConfig {
  return loadConfig<GatehouseConfig>({
    file: configFileOf(flag, env),
    env,
    sections: {
      idp: idpConfigSchema as unknown as Record<string, unknown>,
      gateway: gatewayConfigSchema as unknown as Record<string, unknown>,
      authz: authzConfigSchema as unknown as Record<string, unknown>,
    },
  });
}
