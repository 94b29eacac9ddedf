// The `gatehouse` command. Each verb lives in commands/<verb>.ts; this file only dispatches.
import { parseArgs } from 'node:util';
import { GatehouseError } from '@gatehouse/core';
import type { Command } from './command.ts';
import { commands } from './commands/index.ts';

function printOverview(): void {
  const width = Math.max(...commands.map((c) => c.name.length));
  console.log(`gatehouse — federated authentication and authorization for microservices

Usage: gatehouse <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'gatehouse <command> --help' for the options of one command.`);
}

function printHelp(command: Command): void {
  console.log(
    `${command.summary}\n\nUsage: ${command.usage}\n\n${command.help}\n  -h, --help          show this help`,
  );
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    const target = verb === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
    if (target) printHelp(target);
    else printOverview();
    return 0;
  }
  const command = commands.find((c) => c.name === verb);
  if (!command) {
    console.error(`gatehouse: unknown command '${verb}'. Run 'gatehouse --help' for the list.`);
    return 2;
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    }) as typeof parsed;
  } catch (err) {
    console.error(`gatehouse ${command.name}: ${(err as Error).message}\nUsage: ${command.usage}`);
    return 2;
  }
  if (parsed.values.help) {
    const sub = command.subcommandHelp?.(parsed.positionals);
    if (sub) console.log(sub);
    else printHelp(command);
    return 0;
  }
  try {
    return (await command.run(parsed)) ?? 0;
  } catch (err) {
    // A catalogued error (a configuration the verb refuses, a key it cannot decrypt) says all there
    // is to say in its code and message: one line, exit 1. Anything else is a bug and keeps its stack.
    if (!(err instanceof GatehouseError)) throw err;
    console.error(`gatehouse ${command.name}: ${err.code}: ${err.message}`);
    return 1;
  }
}
