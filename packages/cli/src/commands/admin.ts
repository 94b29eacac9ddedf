import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ConfigError, createLogger, loadConfig, openState } from '@gatehouse/core';
import type { IdpClientConfig } from '@gatehouse/idp';
import { idpConfigSchema } from '@gatehouse/idp/config-schema';
import { type Command, configHelp, configOptions } from '../command.ts';
import { consoleClient, consoleNeedsMfa } from '../console-client.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { openStorage } from '../runtime.ts';

/**
 * The bootstrap verbs: the first admin and the first clients, written straight to the configured
 * storage (embedded or PostgreSQL, development or production), each change in the audit trail as
 * `admin.change` by `cli:<operating-system user>`. Afterwards the admin API does the rest.
 */
export const adminCommand: Command = {
  name: 'admin',
  summary: 'Create the first admin user and clients in the configured storage (bootstrap)',
  usage: `gatehouse admin create-user --username NAME [--role ROLE]... [--email EMAIL] [--password-file FILE]
       gatehouse admin create-client --client-id ID [--grant GRANT]... [--role ROLE]... [--redirect-uri URI]...
                                     [--public] [--first-party] [--scope SCOPE] [--resource URI=SCOPE,SCOPE]...
       gatehouse admin create-console-client`,
  help: `create-user     a user with the given roles (each role is created when missing). The password
                is read from --password-file, else $GATEHOUSE_ADMIN_PASSWORD; without either a
                random one is generated and printed once. Example, the first admin:
                  npx gatehouse admin create-user --username admin --role admin
create-client   an OAuth client (grant client_credentials unless --grant says otherwise). A
                confidential client's secret is generated and printed once. Example, a robot that
                may call the admin API:
                  npx gatehouse admin create-client --client-id ops-robot --role admin
create-console-client
                the admin console's own client, gatehouse-console: public (code + PKCE, no
                secret), its redirect the gateway's browser-session callback on server.publicUrl
                (gateway.bff.redirectPath), a second factor required when idp.mfa.requiredRoles
                holds admin. The gateway signs people in to /admin as this client (docs/console.md).

Both write to storage directly: run them before the server starts, or on PostgreSQL at any time.
While a server holds the embedded data folder they refuse (GH_STORAGE_LOCKED); use the admin API
then. Every change is audited (admin.change, actor cli:<your user name>).

${configHelp}
      --username NAME       login name of the new user
      --email EMAIL         e-mail address of the new user
      --password-file FILE  file holding the new user's password (first line)
      --client-id ID        client_id of the new client
      --grant GRANT         authorization_code, refresh_token, client_credentials or token-exchange (repeatable)
      --role ROLE           a role for the user, or for the client's client-credentials tokens (repeatable)
      --redirect-uri URI    redirect URI of a code-flow client (repeatable)
      --public              a public client (no secret, PKCE): browser or native apps
      --first-party         skip the consent page for this client
      --scope SCOPE         OpenID scopes the client may ask for (space separated)
      --resource URI=SCOPES a resource indicator and the scopes a token for it may carry (repeatable)
      --json                machine-readable output`,
  options: {
    ...configOptions,
    username: { type: 'string' },
    email: { type: 'string' },
    'password-file': { type: 'string' },
    'client-id': { type: 'string' },
    grant: { type: 'string', multiple: true },
    role: { type: 'string', multiple: true },
    'redirect-uri': { type: 'string', multiple: true },
    public: { type: 'boolean' },
    'first-party': { type: 'boolean' },
    scope: { type: 'string' },
    resource: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run({ values, positionals }) {
    const action = positionals[0];
    if (action !== 'create-user' && action !== 'create-client' && action !== 'create-console-client') {
      console.error(
        `gatehouse admin: say 'create-user', 'create-client' or 'create-console-client'.\nUsage: ${adminCommand.usage}`,
      );
      return 2;
    }
    const problem =
      action === 'create-user'
        ? userProblem(values)
        : action === 'create-client'
          ? clientProblem(values)
          : consoleClientProblem(values);
    if (problem) {
      console.error(`gatehouse admin ${action}: ${problem}`);
      return 2;
    }
    const config = loadConfigOrReport('admin', values.config);
    if (!config) return 1;
    const actor = `cli:${operatingSystemUser()}`;
    const logger = createLogger({ level: 'warn' });
    const idp = await import('@gatehouse/idp');
    const sql = await openStorage(config, logger);
    try {
      const audit = idp.createAudit(sql, { logger });
      if (action === 'create-user') {
        const state = await openState({ driver: 'memory' });
        try {
          const accounts = idp.createIdpAccounts({ sql, state, logger, config: config.idp.accounts });
          const roles = (values.role as string[] | undefined) ?? [];
          for (const role of roles) await accounts.roles.ensure(role);
          const given = passwordGiven(values);
          const password = given ?? randomBytes(18).toString('base64url');
          const user = await accounts.create(
            {
              username: values.username as string,
              password,
              email: values.email as string | undefined,
              roles,
            },
            { actor },
          );
          if (values.json) {
            console.log(
              JSON.stringify({
                id: user.id,
                username: user.username,
                roles: user.roles,
                ...(given ? {} : { password }),
              }),
            );
          } else {
            console.log(
              `created user ${user.username} (${user.id}) with roles ${user.roles.join(', ') || '(none)'}`,
            );
            if (!given) console.log(`password (shown once): ${password}`);
          }
        } finally {
          await state.close();
        }
        return 0;
      }
      let client: IdpClientConfig;
      try {
        client =
          action === 'create-console-client'
            ? consoleClient(config.server.publicUrl, {
                redirectPath: (config.gateway as { bff?: { redirectPath?: string } }).bff?.redirectPath,
                requireMfa: consoleNeedsMfa(config.idp as { mfa?: Record<string, unknown> }),
              })
            : clientConfig(values);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(
          `gatehouse admin create-client: ${err.problems.join('; ').replaceAll('idp.clients.0.', '')}`,
        );
        return 2;
      }
      const confidential = client.tokenEndpointAuthMethod !== 'none';
      const secret = confidential ? idp.generateClientSecret() : undefined;
      const metadata = idp.clientMetadataFromConfig(secret ? { ...client, clientSecret: secret } : client);
      if (await idp.findClient(sql, metadata.client_id)) {
        console.error(`gatehouse admin create-client: client ${metadata.client_id} exists`);
        return 1;
      }
      await idp.upsertClient(sql, metadata, 'admin');
      await audit.record({
        type: 'admin.change',
        actor,
        subject: metadata.client_id,
        details: { action: 'client.create' },
      });
      if (values.json)
        console.log(
          JSON.stringify({ clientId: metadata.client_id, ...(secret ? { clientSecret: secret } : {}) }),
        );
      else {
        console.log(`created client ${metadata.client_id} (${client.grantTypes.join(', ')})`);
        if (secret) console.log(`client secret (shown once): ${secret}`);
      }
      return 0;
    } finally {
      await sql.close();
    }
  },
};

function userProblem(values: Record<string, unknown>): string | undefined {
  if (typeof values.username !== 'string') return '--username is required';
  for (const flag of ['client-id', 'grant', 'redirect-uri', 'public', 'first-party', 'scope', 'resource']) {
    if (values[flag] !== undefined) return `--${flag} is for create-client`;
  }
  return undefined;
}

function clientProblem(values: Record<string, unknown>): string | undefined {
  if (typeof values['client-id'] !== 'string') return '--client-id is required';
  for (const flag of ['username', 'email', 'password-file']) {
    if (values[flag] !== undefined) return `--${flag} is for create-user`;
  }
  return undefined;
}

function consoleClientProblem(values: Record<string, unknown>): string | undefined {
  for (const [flag, value] of Object.entries(values)) {
    if (value !== undefined && flag !== 'config' && flag !== 'json' && !(flag in configOptions)) {
      return `--${flag} is not for create-console-client: its client is fixed`;
    }
  }
  return undefined;
}

function passwordGiven(values: Record<string, unknown>): string | undefined {
  const file = values['password-file'];
  if (typeof file === 'string') return readFileSync(file, 'utf8').split(/\r?\n/)[0];
  return process.env.GATEHOUSE_ADMIN_PASSWORD || undefined;
}

const GRANTS: Record<string, string> = {
  'token-exchange': 'urn:ietf:params:oauth:grant-type:token-exchange',
};

/** The flags as a client of the configuration file, validated (and defaulted) by the same schema. */
function clientConfig(values: Record<string, unknown>): IdpClientConfig {
  const resources: Record<string, string[]> = {};
  for (const r of (values.resource as string[] | undefined) ?? []) {
    const eq = r.lastIndexOf('=');
    if (eq <= 0) throw new ConfigError('--resource', [`${r}: write URI=scope,scope`]);
    resources[r.slice(0, eq)] = r
      .slice(eq + 1)
      .split(',')
      .filter(Boolean);
  }
  const isPublic = values.public === true;
  const client: Record<string, unknown> = {
    clientId: values['client-id'],
    tokenEndpointAuthMethod: isPublic ? 'none' : 'client_secret_basic',
    grantTypes: (
      (values.grant as string[] | undefined) ?? [isPublic ? 'authorization_code' : 'client_credentials']
    ).map((g) => GRANTS[g] ?? g),
    redirectUris: (values['redirect-uri'] as string[] | undefined) ?? [],
    roles: (values.role as string[] | undefined) ?? [],
    firstParty: values['first-party'] === true,
    resources,
  };
  if (typeof values.scope === 'string') client.scope = values.scope;
  else if (!client.grantTypes || !(client.grantTypes as string[]).includes('authorization_code'))
    client.scope = '';
  return loadClient(client);
}

function loadClient(client: Record<string, unknown>): IdpClientConfig {
  const loaded = loadConfig<{ idp: { clients: IdpClientConfig[] } }>({
    document: { idp: { clients: [client] } },
    env: {},
    sections: { idp: idpConfigSchema as unknown as Record<string, unknown> },
  });
  return loaded.idp.clients[0]!;
}

function operatingSystemUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
