import { createLogger } from '@gatehouse/core';
import { type Command, configHelp, configOptions } from '../command.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { openStorage } from '../runtime.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'Apply pending database migrations and exit (safe to run from several replicas at once)',
  usage: 'gatehouse migrate [--config FILE]',
  help: `Applies every pending plain-SQL migration in order, each once, under an advisory lock, and
prints what it applied. The identity provider also migrates at start; run this as a Kubernetes Job
before a rollout to keep start-up short.

${configHelp}`,
  options: { ...configOptions },
  async run({ values }) {
    const config = loadConfigOrReport('migrate', values.config);
    if (!config) return 1;
    const logger = createLogger({ level: 'warn' });
    const sql = await openStorage(config, logger, (applied) => {
      console.log(
        applied.length === 0 ? 'up to date: no migration to apply' : `applied: ${applied.join(', ')}`,
      );
    });
    await sql.close();
    return 0;
  },
};
