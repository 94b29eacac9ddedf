import { DEV_KEY_ENCRYPTION_SECRET } from '@gatehouse/idp/config-schema';
import type { GatehouseConfig } from './load-config.ts';

/** What each verb reads: a verb is refused only for what it uses; `config` checks the whole file. */
const USES: Record<string, { secret: boolean; storage: boolean; state: boolean }> = {
  config: { secret: true, storage: true, state: true },
  idp: { secret: true, storage: true, state: true },
  gateway: { secret: false, storage: false, state: true },
  migrate: { secret: false, storage: true, state: false },
  keys: { secret: true, storage: true, state: false },
};

/**
 * What production mode refuses: development secrets, demo accounts, and process-local storage or
 * state (a production replica must share PostgreSQL and Redis with the others). Returns the
 * problems, each naming the key, so the caller can print them all at once. `verb` limits the checks
 * to what that verb uses (the gateway holds no signing keys, so it needs no key-encryption secret).
 */
export function productionProblems(config: GatehouseConfig, verb = 'config'): string[] {
  if (config.mode !== 'production') return [];
  const uses = USES[verb] ?? { secret: true, storage: false, state: false };
  const problems: string[] = [];
  if (config.demo.enabled === true) problems.push('demo.enabled: demo accounts are refused in production');
  if (uses.storage && (config.storage.driver !== 'postgres' || !config.storage.url)) {
    problems.push('storage.url: production needs PostgreSQL (storage.driver postgres and storage.url)');
  }
  if (uses.state && (config.state.driver !== 'redis' || !config.state.url)) {
    problems.push(
      'state.url: production needs Redis shared by every replica (state.driver redis and state.url)',
    );
  }
  const secret = uses.secret ? config.idp.keyEncryptionSecret : null;
  if (secret === null) {
    // This verb never reads it.
  } else if (secret === undefined || secret === DEV_KEY_ENCRYPTION_SECRET) {
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
