import { DEV_KEY_ENCRYPTION_SECRET } from '@gatehouse/idp/config-schema';
import type { GatehouseConfig } from './load-config.ts';

/**
 * What production mode refuses: development secrets and demo accounts. Returns the problems, each
 * naming the key, so the caller can print them all at once.
 */
export function productionProblems(config: GatehouseConfig): string[] {
  if (config.mode !== 'production') return [];
  const problems: string[] = [];
  if (config.demo.enabled === true) problems.push('demo.enabled: demo accounts are refused in production');
  const secret = config.idp.keyEncryptionSecret;
  if (secret === undefined || secret === DEV_KEY_ENCRYPTION_SECRET) {
    problems.push(
      'idp.keyEncryptionSecret: set a secret of your own (the development default is refused in production)',
    );
  } else if (typeof secret === 'string' && secret.length < 32) {
    problems.push('idp.keyEncryptionSecret: must be at least 32 characters in production');
  }
  if (!config.server.publicUrl.startsWith('https://')) {
    problems.push('server.publicUrl: must be an https:// URL in production');
  }
  return problems;
}

/** Demo fixtures are on by default in development and never in production. */
export function demoEnabled(config: GatehouseConfig): boolean {
  return config.demo.enabled ?? config.mode === 'development';
}
