import { createLogger, dataFolderHolder } from '@gatehouse/core';
import type { IdpConfig } from '@gatehouse/idp';
import { type Command, configHelp, configOptions } from '../command.ts';
import type { GatehouseConfig } from '../load-config.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { openStorage } from '../runtime.ts';

interface KeyInfo {
  kid: string;
  state: string;
  alg: string;
  createdAt: Date | string;
}

export const keysCommand: Command = {
  name: 'keys',
  summary: 'List or rotate the identity provider signing keys',
  usage: 'gatehouse keys list|rotate [--config FILE] [--token TOKEN] [--json]',
  help: `list     the signing keys with their state (next, active, retired), algorithm and dates
rotate   publish a new key now; it signs once every replica has seen it in the JWKS, and the old
         key stays published until every token it signed has expired

Works on the configured storage directly. When a running server holds the embedded data folder
(gatehouse dev or idp with storage.driver: pglite), the command asks that server's admin API
instead (<issuer>/admin/keys), with an admin access token: --token, or $GATEHOUSE_ADMIN_TOKEN.

${configHelp}
      --token TOKEN   admin access token for the running server's admin API
      --json          machine-readable output`,
  options: { ...configOptions, json: { type: 'boolean' }, token: { type: 'string' } },
  allowPositionals: true,
  async run({ values, positionals }) {
    const action = positionals[0];
    if (action !== 'list' && action !== 'rotate') {
      console.error(`gatehouse keys: say 'list' or 'rotate'.\nUsage: ${keysCommand.usage}`);
      return 2;
    }
    const config = loadConfigOrReport('keys', values.config);
    if (!config) return 1;
    const holder = config.storage.driver === 'pglite' ? dataFolderHolder(config.storage.dataDir) : undefined;
    if (holder) {
      const token = typeof values.token === 'string' ? values.token : process.env.GATEHOUSE_ADMIN_TOKEN;
      if (!token) {
        console.error(
          `gatehouse keys: the data folder ${config.storage.dataDir} is in use by process ${holder.pid} (${holder.command}), and two processes must not open it at once.
Either stop that process, or let this command ask it: pass an admin access token with --token
(or GATEHOUSE_ADMIN_TOKEN) and it calls ${await issuerOf(config)}/admin/keys. docs/deployment.md shows how to get one.`,
        );
        return 1;
      }
      return viaAdminApi(action, await issuerOf(config), token, values.json === true);
    }
    const { listKeys, rotateKeys } = await import('@gatehouse/idp');
    const sql = await openStorage(config, createLogger({ level: 'warn' }));
    try {
      if (action === 'rotate') {
        const r = await rotateKeys(sql, config.idp as unknown as IdpConfig);
        if (!values.json) printRotated(r);
      }
      printKeys(await listKeys(sql), values.json === true);
      return 0;
    } finally {
      await sql.close();
    }
  },
};

async function issuerOf(config: GatehouseConfig): Promise<string> {
  const { resolveIssuer } = await import('@gatehouse/idp');
  return resolveIssuer(config.idp as unknown as IdpConfig, config.server.publicUrl).replace(/\/$/, '');
}

/** The same verb through the running server's admin API (which audits the rotation). */
async function viaAdminApi(action: 'list' | 'rotate', issuer: string, token: string, json: boolean) {
  const call = async (method: string, path: string) => {
    let res: Response;
    try {
      res = await fetch(`${issuer}/admin${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
    } catch (err) {
      throw new Error(`cannot reach the running server at ${issuer}: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      throw new Error(
        `${issuer}/admin${path} answered ${res.status} ${String(body.error ?? '')}: ${String(body.message ?? '')}`,
      );
    }
    return body;
  };
  try {
    if (action === 'rotate') {
      const r = (await call('POST', '/keys/rotate')) as { activated: string | null; retired: string | null };
      if (!json) printRotated(r);
    }
    printKeys((await call('GET', '/keys')) as unknown as KeyInfo[], json);
    return 0;
  } catch (err) {
    console.error(`gatehouse keys: ${(err as Error).message}`);
    return 1;
  }
}

function printRotated(r: { activated: string | null; retired: string | null }): void {
  console.log(
    `rotated: ${r.activated ? `key ${r.activated} now signs` : 'a new key is published'}${r.retired ? `; ${r.retired} retired (still published until its tokens expire)` : ''}`,
  );
}

function printKeys(keys: KeyInfo[], json: boolean): void {
  if (json) console.log(JSON.stringify(keys, null, 2));
  else if (keys.length === 0) {
    console.log(
      'no signing keys yet: the identity provider creates one when it first starts (or run keys rotate)',
    );
  } else {
    console.log('kid                                          state    alg    created');
    for (const k of keys) {
      console.log(
        `${k.kid.padEnd(44)} ${k.state.padEnd(8)} ${k.alg.padEnd(6)} ${new Date(k.createdAt).toISOString()}`,
      );
    }
  }
}
