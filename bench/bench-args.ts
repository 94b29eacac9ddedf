import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ options: O }>>['values'];

/**
 * The options of a bench script. `--help` (or `-h`) prints the script's opening comment, which is
 * where every script documents its command line; an unknown or malformed option prints one line
 * and exits with status 2 instead of a stack trace. node:util's parseArgs does the parsing.
 */
export function benchArgs<const O extends ParseArgsOptionsConfig>(scriptUrl: string, options: O): Values<O> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usageOf(scriptUrl));
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\nRun with --help for the options.\n`);
    process.exit(2);
  }
}

/** The script's leading `/** … *\/` comment as plain text. */
function usageOf(scriptUrl: string): string {
  const source = readFileSync(fileURLToPath(scriptUrl), 'utf8');
  const comment = /^\s*\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? '';
  const text = comment
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
  return `${text || `node ${fileURLToPath(scriptUrl)}`}\n`;
}
