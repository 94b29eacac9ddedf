import { ConfigError } from '@gatehouse/core';
import { type Command, configHelp, configOptions } from '../command.ts';
import { loadGatehouseConfig } from '../load-config.ts';
import { productionProblems } from '../production-guard.ts';

/** `postgres://app:[redacted]@db/app`: a URL's password is a secret wherever it came from. */
function withoutUrlPassword(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(value)) return value;
  const url = URL.parse(value);
  if (!url?.password) return value;
  url.password = 'redacted';
  return url.href.replace(':redacted@', ':[redacted]@');
}

export const configCommand: Command = {
  name: 'config',
  summary: 'Validate the configuration and print it with every default filled in',
  usage: 'gatehouse config [--config FILE] [--quiet]',
  help: `Exits 0 when the configuration is valid, 1 with a message naming each bad key otherwise.
Secrets, and the password in a URL (storage.url: postgres://app:\${env:DB_PASSWORD}@db/app), are
printed as [redacted].

${configHelp}
  -q, --quiet         print nothing on success`,
  options: { ...configOptions, quiet: { type: 'boolean', short: 'q' } },
  async run({ values }) {
    try {
      const config = loadGatehouseConfig(values.config);
      const problems = productionProblems(config);
      if (problems.length > 0) {
        console.error(
          `gatehouse config: not valid for production:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
        );
        return 1;
      }
      if (!values.quiet) {
        console.log(
          JSON.stringify(
            config,
            (k, v) =>
              typeof v !== 'string' ? v : /secret|password/i.test(k) ? '[redacted]' : withoutUrlPassword(v),
            2,
          ),
        );
      }
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) {
        console.error(`gatehouse config: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};
