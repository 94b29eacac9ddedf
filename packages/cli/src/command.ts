import type { ParseArgsConfig } from 'node:util';

/** One verb of the `gatehouse` command: its help text, its options, and what it does. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Longer help printed by `gatehouse <verb> --help`, after the usage line. */
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  /** Help for a sub-verb (`gatehouse authz model write --help`), when the positionals name one. */
  subcommandHelp?: (positionals: string[]) => string | undefined;
  run(args: { values: Record<string, unknown>; positionals: string[] }): Promise<number | undefined>;
}

/** Options every verb that loads configuration accepts. */
export const configOptions = {
  config: { type: 'string', short: 'c' },
} as const;

export const configHelp = `  -c, --config FILE   YAML configuration file (default: $GATEHOUSE_CONFIG, else ./gatehouse.yaml
                      if it exists, else built-in defaults). GATEHOUSE_<SECTION>__<KEY>=value
                      environment variables override it, e.g. GATEHOUSE_SERVER__PORT=9090.`;
