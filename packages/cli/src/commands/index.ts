import type { Command } from '../command.ts';
import { adminCommand } from './admin.ts';
import { authzCommand } from './authz.ts';
import { benchCommand } from './bench.ts';
import { certsCommand } from './certs.ts';
import { configCommand } from './config.ts';
import { devCommand } from './dev.ts';
import { gatewayCommand } from './gateway.ts';
import { idpCommand } from './idp.ts';
import { keysCommand } from './keys.ts';
import { migrateCommand } from './migrate.ts';

/** Every verb, in the order `gatehouse --help` lists them. */
export const commands: Command[] = [
  devCommand,
  idpCommand,
  gatewayCommand,
  authzCommand,
  migrateCommand,
  keysCommand,
  adminCommand,
  certsCommand,
  configCommand,
  benchCommand,
];
