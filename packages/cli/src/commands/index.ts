import type { Command } from '../command.ts';
import { configCommand } from './config.ts';
import { devCommand } from './dev.ts';

/** Every verb, in the order `gatehouse --help` lists them. */
export const commands: Command[] = [devCommand, configCommand];
