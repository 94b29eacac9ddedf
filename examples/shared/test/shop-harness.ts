import { createServer, type Server } from 'node:http';
import { loadConfig, type SharedState, type Sql, silentLogger } from '@gatehouse/core';
import { openTestSql, openTestState, type TestSql, type TestState } from '@gatehouse/core/testing';
import { createGateway, type Gateway } from '@gatehouse/gateway';
import {
  createIdp,
  type Idp,
  type IdpConfig,
  idpConfigSchema,
  idpMigrations,
  seedDevelopmentFixtures,
} from '@gatehouse/idp';
import type { Example, ExampleContext, ExampleHandle } from '../../example-contract.ts';
import { closeServer, listen } from '../src/listen.ts';
import { addDemoAccounts } from './real-stack.ts';

/**
 * A real Gatehouse in process, wired as `gatehouse dev` wires it (packages/cli/src/stack.ts): the
 * identity provider on PGlite in memory with the demo accounts and clients (`seedDevelopmentFixtures`),
 * the gateway in front with the built-in `/auth` and `/authentication` routes, and the example's
 * services and routes.
 *
 * The gateway listens first, so its URL is the public URL (issuer `<gateway>/auth`); its routes and
 * token rules are loaded once the identity provider and the services run. As in `gatehouse dev`, its
 * `permission` policies run the engine in-process on the shared storage (`gateway.authz: {}`).
 */
export interface Stack {
  /** The gateway: http://127.0.0.1:<port> */
  publicUrl: string;
  issuer: string;
  idpUrl: string;
  sql: Sql;
  state: SharedState;
  idp: Idp;
  gateway: Gateway;
  handle: ExampleHandle;
  ctx: ExampleContext;
  /** Close the identity provider's port (the services keep running). */
  stopIdp(): Promise<void>;
  /** Open it again on the same port. */
  startIdp(): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** The `idp` config section on top of the example's clients and resources. */
  idp?: Record<string, unknown>;
}

const GATEWAY_AUTHZ = {};

export async function startStack(example: Example, options: StackOptions = {}): Promise<Stack> {
  const logger = silentLogger();
  const testSql: TestSql = await openTestSql('pglite', { migrations: [idpMigrations] });
  const testState: TestState = await openTestState('memory');
  const { sql } = testSql;
  const { state } = testState;
  const cleanups: Array<() => Promise<void>> = [() => testState.cleanup(), () => testSql.cleanup()];
  const close = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  };
  try {
    const gateway = await createGateway({ config: { authz: GATEWAY_AUTHZ }, state, logger, sql });
    cleanups.push(() => gateway.close());
    const { port } = await gateway.listen(0, '127.0.0.1');
    const publicUrl = `http://127.0.0.1:${port}`;

    let idp: Idp | undefined;
    let idpServer: Server = idpHttpServer(() => idp);
    const idpUrl = await listen(idpServer);
    const idpPort = Number(new URL(idpUrl).port);
    cleanups.push(() => closeIdp(idpServer));

    const site = { publicUrl, issuer: `${publicUrl}/auth` };
    const config = loadConfig<{ idp: IdpConfig }>({
      document: {
        idp: {
          ...options.idp,
          resources: example.resources?.(site) ?? [],
          clients: example.clients(site),
        },
      },
      sections: { idp: idpConfigSchema },
      env: {},
    }).idp;
    idp = await createIdp({ config, sql, state, logger, publicUrl });
    cleanups.push(() => idp!.close());
    const seeded = await seedDevelopmentFixtures(idp);
    if (!seeded.accounts.includes('alice')) throw new Error('the demo accounts were not seeded');
    await addDemoAccounts(idp, { roles: example.roles ?? [], demoAccounts: example.demoAccounts ?? [] });

    const issuer = idp.runtime.issuer;
    const idpPath = new URL(issuer).pathname;
    const ctx: ExampleContext = {
      publicUrl,
      issuer,
      jwksUri: `${idpUrl}${idpPath}/jwks`,
      tokenEndpoint: `${idpUrl}${idpPath}/token`,
      sql,
      logger,
      mode: 'development',
    };
    const handle = await example.start(ctx);
    cleanups.push(() => handle.close());

    await gateway.reload({
      authz: GATEWAY_AUTHZ,
      auth: { issuer, audiences: [publicUrl], jwksUri: ctx.jwksUri },
      routes: [
        // forwardToken: the identity provider itself reads the session cookie (whoami, logout) and
        // the Authorization header (client_secret_basic at the token endpoint, userinfo).
        { id: 'idp', match: { path: '/auth' }, upstreams: [idpUrl], policy: 'public', forwardToken: true },
        {
          id: 'authentication',
          match: { path: '/authentication' },
          upstreams: [idpUrl],
          policy: 'public',
          forwardToken: true,
        },
        ...handle.routes,
      ],
    });

    return {
      publicUrl,
      issuer,
      idpUrl,
      sql,
      state,
      idp,
      gateway,
      handle,
      ctx,
      stopIdp: () => closeIdp(idpServer),
      async startIdp() {
        idpServer = idpHttpServer(() => idp);
        await listen(idpServer, idpPort);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function idpHttpServer(current: () => Idp | undefined): Server {
  return createServer((req, res) => {
    const idp = current();
    if (!idp) res.writeHead(503).end();
    else idp.handler(req, res);
  });
}

/** Close now: open keep-alive connections too, so a stopped identity provider really is unreachable. */
function closeIdp(server: Server): Promise<void> {
  server.closeAllConnections();
  return closeServer(server);
}

/** A minimal cookie store for one origin, fed from Set-Cookie. */
export function cookieJar() {
  const jar = new Map<string, string>();
  return {
    take(res: Response): void {
      for (const line of res.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
        else jar.set(name, value);
      }
    },
    get(name: string): string | undefined {
      return jar.get(name);
    },
    header(): string {
      return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    },
  };
}

/** Log in through the gateway's `/authentication/login`; resolves to the `gatehouse_session` value. */
export async function login(publicUrl: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${publicUrl}/authentication/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login of ${username} answered ${res.status}: ${await res.text()}`);
  const jar = cookieJar();
  jar.take(res);
  const session = jar.get('gatehouse_session');
  if (!session) throw new Error('login set no session cookie');
  return session;
}

/** A client-credentials token straight from the identity provider's token endpoint. */
export async function serviceToken(
  tokenEndpoint: string,
  clientId: string,
  secret: string,
  params: { resource?: string; scope?: string } = {},
): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (params.resource) body.set('resource', params.resource);
  if (params.scope) body.set('scope', params.scope);
  const res = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body,
  });
  const json = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !json.access_token) throw new Error(`token endpoint answered ${res.status}`);
  return json.access_token;
}
