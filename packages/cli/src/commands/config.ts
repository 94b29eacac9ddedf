import { ConfigError } from '@gatehouse/core';
import { type Command, configHelp, configOptions } from '../command.ts';
import { loadGatehouseConfig } from '../load-config.ts';
import { productionProblems } from '../production-guard.ts';

export const configCommand: Command = {
  name: 'config',
  summary: 'Validate the configuration and print it with every default filled in',
  usage: 'gatehouse config [--config FILE] [--quiet]',
  help: `Exits 0 when the configuration is valid, 1 with a message naming each bad key otherwise.
Secrets are printed as [redacted].

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
            (k, v) => (/secret|password/i.test(k) && typeof v === 'string' ? '[redacted]' : v),
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
