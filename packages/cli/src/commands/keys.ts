import { createLogger } from '@gatehouse/core';
import type { IdpConfig } from '@gatehouse/idp';
import { type Command, configHelp, configOptions } from '../command.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { openStorage } from '../runtime.ts';

export const keysCommand: Command = {
  name: 'keys',
  summary: 'List or rotate the identity provider signing keys',
  usage: 'gatehouse keys list|rotate [--config FILE] [--json]',
  help: `list     the signing keys with their state (next, active, retired), algorithm and dates
rotate   publish a new key now; it signs once every replica has seen it in the JWKS, and the old
         key stays published until every token it signed has expired

${configHelp}
      --json          machine-readable output`,
  options: { ...configOptions, json: { type: 'boolean' } },
  allowPositionals: true,
  async run({ values, positionals }) {
    const action = positionals[0];
    if (action !== 'list' && action !== 'rotate') {
      console.error(`gatehouse keys: say 'list' or 'rotate'.\nUsage: ${keysCommand.usage}`);
      return 2;
    }
    const config = loadConfigOrReport('keys', values.config);
    if (!config) return 1;
    const { listKeys, rotateKeys } = await import('@gatehouse/idp');
    const sql = await openStorage(config, createLogger({ level: 'warn' }));
    try {
      if (action === 'rotate') {
        const r = await rotateKeys(sql, config.idp as unknown as IdpConfig);
        if (!values.json) {
          console.log(
            `rotated: ${r.activated ? `key ${r.activated} now signs` : 'a new key is published'}${r.retired ? `; ${r.retired} retired (still published until its tokens expire)` : ''}`,
          );
        }
      }
      const keys = await listKeys(sql);
      if (values.json) console.log(JSON.stringify(keys, null, 2));
      else if (keys.length === 0) {
        console.log(
          'no signing keys yet: the identity provider creates one when it first starts (or run keys rotate)',
        );
      } else {
        console.log('kid                                          state    alg    created');
        for (const k of keys) {
          console.log(
            `${k.kid.padEnd(44)} ${k.state.padEnd(8)} ${k.alg.padEnd(6)} ${k.createdAt.toISOString()}`,
          );
        }
      }
      return 0;
    } finally {
      await sql.close();
    }
  },
};
