import { readFile } from 'node:fs/promises';
import { createLogger, createTracing, GatehouseError, migrate, openSql, Shutdown } from '@gatehouse/core';
import { AuthzClientError, createAuthzClient } from '../authz-client.ts';
import { type Command, configHelp, configOptions } from '../command.ts';
import { loadConfigOrReport } from '../load-or-exit.ts';
import { listen, openSharedState } from '../runtime.ts';

const connectionHelp = `  --url URL           the permission service (default $GATEHOUSE_AUTHZ_URL, else
                      http://localhost:8080/authz, the one inside gatehouse dev)
  --token TOKEN       a service token with authz:read (reads) or authz:write (changes)
                      (default $GATEHOUSE_AUTHZ_TOKEN)
  --store ID          the store (default $GATEHOUSE_AUTHZ_STORE)`;

const sub: Record<string, { usage: string; help: string }> = {
  serve: {
    usage: 'gatehouse authz [serve] [--config FILE] [--port PORT] [--host HOST]',
    help: `Serves the permission engine on authz.port: the OpenFGA HTTP API (/stores/...) and the OpenID
AuthZEN Authorization API 1.0 (/access/v1/evaluation, /access/v1/evaluations,
/access/v1/search/subject|resource|action, /.well-known/authzen-configuration). Callers send a
Gatehouse service token for authz.auth.audience with authz:read (checks, reads) or authz:write
(stores, models, tuples), verified against the idp's JWKS. Storage is the storage section.

${configHelp}
  -p, --port PORT     listen port (default authz.port)
      --host HOST     listen address (default server.host)
      --public-url URL the URL callers reach the service at (AuthZEN metadata; default
                      http://HOST:PORT)`,
  },
  'store create': {
    usage: 'gatehouse authz store create NAME [--url URL] [--token TOKEN]',
    help: `Creates a store and prints its id (use it as --store or $GATEHOUSE_AUTHZ_STORE).

${connectionHelp}`,
  },
  'store list': {
    usage: 'gatehouse authz store list [--url URL] [--token TOKEN]',
    help: `Lists the stores: id and name.

${connectionHelp}`,
  },
  'model write': {
    usage: 'gatehouse authz model write FILE [--store ID] [--url URL] [--token TOKEN]',
    help: `Writes an authorization model from FILE: the OpenFGA DSL (.fga) or its JSON form (.json). The
model is checked here first; a problem is printed with its line and column and nothing is sent.
Prints the new model's id.

${connectionHelp}`,
  },
  'model show': {
    usage: 'gatehouse authz model show [--model ID] [--store ID] [--url URL] [--token TOKEN]',
    help: `Prints an authorization model as JSON: --model ID, else the store's newest.

${connectionHelp}
  --model ID          the model to show`,
  },
  'tuples write': {
    usage: 'gatehouse authz tuples write (USER RELATION OBJECT | --file FILE) [--store ID] ...',
    help: `Adds one tuple (USER RELATION OBJECT, e.g. user:anne viewer document:plan) or the tuples of a
YAML or JSON file (a list of { user, relation, object, condition? }), at most 100 per call.

${connectionHelp}
  --file FILE         tuples to write`,
  },
  'tuples delete': {
    usage: 'gatehouse authz tuples delete (USER RELATION OBJECT | --file FILE) [--store ID] ...',
    help: `Deletes one tuple or the tuples of a YAML or JSON file; deleting a missing tuple is an error.

${connectionHelp}
  --file FILE         tuples to delete`,
  },
  'tuples read': {
    usage: 'gatehouse authz tuples read [--user U] [--relation R] [--object O] [--store ID] ...',
    help: `Prints the stored tuples matching the filter, one per line (all pages). --object may be a
type alone ("document:") when --user is given, as OpenFGA's Read allows.

${connectionHelp}
  --user U, --relation R, --object O   filter`,
  },
  check: {
    usage: 'gatehouse authz check USER RELATION OBJECT [--context JSON] [--store ID] ...',
    help: `Asks whether USER has RELATION on OBJECT; prints allowed or denied. Exit 0 when allowed, 1 when
denied or on error.

${connectionHelp}
  --context JSON      condition context, e.g. '{"current_time":"2026-01-01T00:00:00Z"}'`,
  },
  test: {
    usage: 'gatehouse authz test FILE.fga.yaml...',
    help: `Runs OpenFGA store test files (the format of 'fga model test': model or model_file, tuples or
tuple_file, tests with check, list_objects and list_users assertions, context and contextual
tuples) against an in-process engine on a temporary in-memory database, and prints a pass/fail
table. Exit 1 when any assertion fails or a file cannot be read. Needs no running service.`,
  },
};

function subOf(positionals: string[]): string | undefined {
  const [a, b] = positionals;
  if (a === undefined || a === 'serve') return 'serve';
  if (a === 'check' || a === 'test') return a;
  const two = `${a} ${b ?? ''}`;
  return two in sub ? two : undefined;
}

export const authzCommand: Command = {
  name: 'authz',
  summary: 'Run the permission service (OpenFGA API, AuthZEN), manage its stores, or test models',
  usage: 'gatehouse authz [serve|store|model|tuples|check|test] ...',
  help: `  gatehouse authz [serve]                 run the permission service
  gatehouse authz store create|list       stores
  gatehouse authz model write|show        authorization models
  gatehouse authz tuples write|read|delete relationship tuples
  gatehouse authz check USER RELATION OBJECT
  gatehouse authz test FILE.fga.yaml      run OpenFGA store test files, no service needed

Run 'gatehouse authz <sub-command> --help' for each one's options.`,
  options: {
    ...configOptions,
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'public-url': { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    store: { type: 'string' },
    model: { type: 'string' },
    file: { type: 'string' },
    user: { type: 'string' },
    relation: { type: 'string' },
    object: { type: 'string' },
    context: { type: 'string' },
  },
  allowPositionals: true,
  subcommandHelp(positionals) {
    const name = subOf(positionals);
    if (!name || name === 'serve') return undefined;
    const s = sub[name]!;
    return `Usage: ${s.usage}\n\n${s.help}`;
  },
  async run({ values, positionals }) {
    const name = subOf(positionals);
    if (!name) {
      console.error(`gatehouse authz: unknown sub-command '${positionals.join(' ')}'.\n${authzCommand.help}`);
      return 2;
    }
    try {
      if (name === 'serve') return await serve(values);
      if (name === 'test') return await runTests(positionals.slice(1));
      return await remote(name, values, positionals);
    } catch (err) {
      if (err instanceof AuthzClientError || err instanceof UsageError) {
        console.error(`gatehouse authz ${name}: ${err.message}`);
        return err instanceof UsageError ? 2 : 1;
      }
      throw err;
    }
  },
};

class UsageError extends Error {}

async function serve(values: Record<string, unknown>): Promise<number | undefined> {
  const config = loadConfigOrReport('authz', values.config);
  if (!config) return 1;
  const { createAuthzServer } = await import('../authz-server.ts');
  const { openStorage } = await import('../runtime.ts');
  const logger = createLogger({ level: config.log.level, name: 'gatehouse-authz' });
  const shutdown = new Shutdown(logger, config.server.shutdownTimeoutMs);
  // Registered first, so it closes last: the spans of the requests drained are still sent.
  const tracing = await createTracing(config.telemetry.traces, 'gatehouse-authz');
  shutdown.add('tracing', () => tracing.shutdown());
  const sql = await openStorage(config, logger);
  shutdown.add('sql', () => sql.close());
  // The shared state is not used by the service; opening it checks the configuration like other verbs.
  const state = await openSharedState(config);
  shutdown.add('state', () => state.close());
  const port = typeof values.port === 'string' ? Number(values.port) : config.authz.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('--port must be a whole number from 0 to 65535');
  }
  const host = typeof values.host === 'string' ? values.host : config.server.host;
  let baseUrl = typeof values['public-url'] === 'string' ? values['public-url'] : '';
  const server = await createAuthzServer({
    config,
    sql,
    logger,
    baseUrl: () => baseUrl,
    draining: () => shutdown.draining,
    tracing,
  });
  shutdown.addServer(server);
  shutdown.installSignalHandlers();
  const url = await listen(server, port, host);
  baseUrl ||= url;
  logger.info({ url }, 'authz listening');
  return undefined;
}

async function runTests(files: string[]): Promise<number> {
  if (files.length === 0) throw new UsageError(`name at least one file\nUsage: ${sub.test!.usage}`);
  const { authzMigrations, createAuthz, readStoreTestFile, runStoreTestFile, StoreTestFileError } =
    await import('@gatehouse/authz');
  const sql = await openSql({ driver: 'pglite' });
  let failed = 0;
  let passed = 0;
  try {
    await migrate(sql, [authzMigrations]);
    const authz = createAuthz({ sql });
    for (const file of files) {
      let results: Awaited<ReturnType<typeof runStoreTestFile>>;
      try {
        results = await runStoreTestFile(authz, await readStoreTestFile(file));
      } catch (err) {
        if (!(err instanceof StoreTestFileError) && !(err instanceof GatehouseError) && !isFsError(err))
          throw err;
        console.log(`FAIL  ${file}: ${(err as Error).message}`);
        failed++;
        continue;
      }
      console.log(`\n${file}`);
      const width = Math.max(20, ...results.map((r) => r.query.length));
      console.log(`  result  ${'kind'.padEnd(12)} ${'query'.padEnd(width)} expected → actual   (test)`);
      for (const r of results) {
        console.log(
          `  ${r.passed ? 'PASS' : 'FAIL'}    ${r.kind.padEnd(12)} ${r.query.padEnd(width)} ${r.expected}${r.passed ? '' : ` → ${r.actual}`}   (${r.test})`,
        );
        if (r.passed) passed++;
        else failed++;
      }
    }
  } finally {
    await sql.close();
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

function isFsError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err;
}

async function tuplesFrom(values: Record<string, unknown>, args: string[]): Promise<unknown[]> {
  if (typeof values.file === 'string') {
    const { readTupleFile, StoreTestFileError } = await import('@gatehouse/authz');
    try {
      return await readTupleFile(values.file);
    } catch (err) {
      if (err instanceof StoreTestFileError || isFsError(err)) throw new UsageError((err as Error).message);
      throw err;
    }
  }
  const [user, relation, object] = args;
  if (!user || !relation || !object || args.length !== 3) {
    throw new UsageError('give USER RELATION OBJECT (e.g. user:anne viewer document:plan) or --file FILE');
  }
  return [{ user, relation, object }];
}

async function remote(name: string, values: Record<string, unknown>, positionals: string[]): Promise<number> {
  const client = createAuthzClient({
    url:
      (values.url as string | undefined) ?? process.env.GATEHOUSE_AUTHZ_URL ?? 'http://localhost:8080/authz',
    token: (values.token as string | undefined) ?? process.env.GATEHOUSE_AUTHZ_TOKEN,
  });
  const store = () => {
    const id = (values.store as string | undefined) ?? process.env.GATEHOUSE_AUTHZ_STORE;
    if (!id) throw new UsageError('name the store: --store ID or GATEHOUSE_AUTHZ_STORE');
    return encodeURIComponent(id);
  };
  const args = positionals.slice(name.includes(' ') ? 2 : 1);
  switch (name) {
    case 'store create': {
      if (args.length !== 1) throw new UsageError(`Usage: ${sub['store create']!.usage}`);
      const s = await client.request('POST', '/stores', { name: args[0] });
      console.log(s['id']);
      return 0;
    }
    case 'store list': {
      let token = '';
      do {
        const page = await client.request('GET', `/stores?continuation_token=${encodeURIComponent(token)}`);
        for (const s of page['stores'] as { id: string; name: string }[]) console.log(`${s.id}  ${s.name}`);
        token = String(page['continuation_token'] ?? '');
      } while (token);
      return 0;
    }
    case 'model write': {
      if (args.length !== 1) throw new UsageError(`Usage: ${sub['model write']!.usage}`);
      const { parseModel } = await import('@gatehouse/authz');
      const file = args[0]!;
      const text = await readFile(file, 'utf8');
      let model: unknown;
      try {
        model = parseModel(file.endsWith('.json') ? { json: JSON.parse(text) } : { dsl: text });
      } catch (err) {
        const problems = (err as GatehouseError).details?.['problems'] as
          | { message: string; line?: number; column?: number }[]
          | undefined;
        const lines = problems?.map(
          (p) => `  ${file}${p.line ? `:${p.line}:${p.column ?? 0}` : ''}: ${p.message}`,
        );
        throw new AuthzClientError(
          `the model is invalid: ${(err as Error).message}${lines ? `\n${lines.join('\n')}` : ''}`,
        );
      }
      const r = await client.request('POST', `/stores/${store()}/authorization-models`, model);
      console.log(r['authorization_model_id']);
      return 0;
    }
    case 'model show': {
      const id = values.model as string | undefined;
      if (id) {
        const r = await client.request(
          'GET',
          `/stores/${store()}/authorization-models/${encodeURIComponent(id)}`,
        );
        console.log(JSON.stringify(r['authorization_model'], null, 2));
      } else {
        const r = await client.request('GET', `/stores/${store()}/authorization-models?page_size=1`);
        const [latest] = r['authorization_models'] as unknown[];
        if (!latest) throw new AuthzClientError('the store has no authorization model yet');
        console.log(JSON.stringify(latest, null, 2));
      }
      return 0;
    }
    case 'tuples write':
    case 'tuples delete': {
      const tuples = await tuplesFrom(values, args);
      const key = name === 'tuples write' ? 'writes' : 'deletes';
      await client.request('POST', `/stores/${store()}/write`, { [key]: { tuple_keys: tuples } });
      console.log(
        `${name === 'tuples write' ? 'wrote' : 'deleted'} ${tuples.length} tuple${tuples.length === 1 ? '' : 's'}`,
      );
      return 0;
    }
    case 'tuples read': {
      const filter = Object.fromEntries(
        (['user', 'relation', 'object'] as const)
          .filter((k) => typeof values[k] === 'string')
          .map((k) => [k, values[k]]),
      );
      let token = '';
      do {
        const page = await client.request('POST', `/stores/${store()}/read`, {
          ...(Object.keys(filter).length > 0 ? { tuple_key: filter } : {}),
          ...(token ? { continuation_token: token } : {}),
        });
        for (const t of page['tuples'] as {
          key: { user: string; relation: string; object: string; condition?: { name: string } };
        }[]) {
          console.log(
            `${t.key.user} ${t.key.relation} ${t.key.object}${t.key.condition ? ` with ${t.key.condition.name}` : ''}`,
          );
        }
        token = String(page['continuation_token'] ?? '');
      } while (token);
      return 0;
    }
    case 'check': {
      const [user, relation, object] = args;
      if (!user || !relation || !object || args.length !== 3)
        throw new UsageError(`Usage: ${sub.check!.usage}`);
      let context: unknown;
      if (typeof values.context === 'string') {
        try {
          context = JSON.parse(values.context);
        } catch {
          throw new UsageError('--context must be a JSON object');
        }
      }
      const r = await client.request('POST', `/stores/${store()}/check`, {
        tuple_key: { user, relation, object },
        ...(context === undefined ? {} : { context }),
      });
      console.log(r['allowed'] ? 'allowed' : 'denied');
      return r['allowed'] ? 0 : 1;
    }
  }
  throw new UsageError(`unknown sub-command '${name}'`);
}
