import { ConfigError } from '@gatehouse/core';
import { type GatehouseConfig, loadGatehouseConfig } from './load-config.ts';
import { productionProblems } from './production-guard.ts';

/**
 * Load the configuration for a verb, or print why it is invalid (each key named) and return
 * undefined so the verb exits 1.
 */
export function loadConfigOrReport(
  verb: string,
  flag: unknown,
  env: NodeJS.ProcessEnv = process.env,
): GatehouseConfig | undefined {
  let config: GatehouseConfig;
  try {
    config = loadGatehouseConfig(flag, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`gatehouse ${verb}: ${err.message}`);
      return undefined;
    }
    throw err;
  }
  const problems = productionProblems(config, verb);
  if (problems.length > 0) {
    console.error(
      `gatehouse ${verb}: refusing to start in production mode:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    return undefined;
  }
  return config;
}
