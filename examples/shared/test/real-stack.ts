import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, loadConfig, type Sql, silentLogger } from '@gatehouse/core';
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
import type { Example, ExampleDemoAccount, ExampleHandle } from '../../example-contract.ts';

/**
 * A real Gatehouse stack in this process, wired like `gatehouse dev` (packages/cli/src/stack.ts):
 * the identity provider (PGlite in memory, the real account store with alice and bob, the hosted
 * login pages and session API) on a loopback port, the gateway on another with the built-in `/auth`
 * and `/authentication` routes plus the example's routes, and the example's services.
 *
 * The gateway listens first so that its port gives the public URL (and the issuer) before the
 * identity provider and the example are built from it; its routes are loaded with `reload`.
 */
export interface RealStack {
  /** http://127.0.0.1:<gateway port> */
  publicUrl: string;
  issuer: string;
  idpUrl: string;
  idp: Idp;
  /** The shared storage (the examples' permission stores live on it). */
  sql: Sql;
  handle: ExampleHandle;
  close(): Promise<void>;
}

export interface RealStackOptions {
  /** Host name in the public URL (the gateway still listens on 127.0.0.1); `localhost` mirrors `npm start`. */
  publicHost?: string;
  /** Extra demo users and the roles they need (the example's `demoAccounts`, `roles`). */
  demoAccounts?: readonly ExampleDemoAccount[];
  roles?: readonly { name: string; description?: string }[];
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The account store `createIdp` builds (idp.runtime.accounts), seen through the two calls the demo
 * seeding uses; `@gatehouse/idp` types it only as the narrow port oidc-provider needs.
 */
interface DemoAccountStore {
  roles: { ensure(name: string, description?: string): Promise<void> };
  create(
    input: { username: string; password: string; email?: string; roles?: string[] },
    options?: { allowCommonPassword?: boolean; actor?: string },
  ): Promise<unknown>;
}

/** The example's roles and demo users, as `gatehouse dev` seeds them. */
export async function addDemoAccounts(
  idp: Idp,
  options: Pick<RealStackOptions, 'demoAccounts' | 'roles'>,
): Promise<void> {
  if (!options.roles?.length && !options.demoAccounts?.length) return;
  const store = idp.runtime.accounts as unknown as DemoAccountStore;
  for (const role of options.roles ?? []) await store.roles.ensure(role.name, role.description);
  for (const a of options.demoAccounts ?? []) {
    await store.create(
      { username: a.username, password: a.password, email: a.email, roles: [...a.roles] },
      // Demo passwords are exactly what a blocklist refuses; they exist only in development.
      { allowCommonPassword: true, actor: 'demo-seed' },
    );
  }
}

const GATEWAY_AUTHZ = {};

export async function startRealStack(example: Example, options: RealStackOptions = {}): Promise<RealStack> {
  // GATEHOUSE_TEST_LOG=debug shows every component's log while a test runs.
  const level = process.env['GATEHOUSE_TEST_LOG'];
  const logger = level ? createLogger({ level }) : silentLogger();
  const cleanups: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  };
  try {
    const testSql: TestSql = await openTestSql('pglite', { migrations: [idpMigrations] });
    cleanups.push(() => testSql.cleanup());
    const testState: TestState = await openTestState('memory');
    cleanups.push(() => testState.cleanup());
    const { sql } = testSql;
    const { state } = testState;

    // The gateway's token rules (issuer, audience, JWKS) are set by `reload` below, once known.
    // As in `gatehouse dev`: `permission` policies run the engine in the gateway on the shared storage.
    const gateway: Gateway = await createGateway({ config: { authz: GATEWAY_AUTHZ }, state, logger, sql });
    const address = await gateway.listen(0, '127.0.0.1');
    cleanups.push(() => gateway.close());
    const publicUrl = `http://${options.publicHost ?? '127.0.0.1'}:${address.port}`;
    const issuer = `${publicUrl}/auth`;

    let idp: Idp | undefined;
    const idpServer = createServer((req, res) => {
      if (idp) idp.handler(req, res);
      else res.writeHead(503).end();
    });
    const idpUrl = await listen(idpServer);
    cleanups.push(() => closeServer(idpServer));
    const idpConfig = loadConfig<{ idp: IdpConfig }>({
      document: {
        idp: {
          clients: example.clients({ publicUrl, issuer }),
          // The SSO apps' back-channel logout URIs are on 127.0.0.1, which oidc-provider's SSRF guard refuses.
          allowPrivateNetworkFetch: true,
        },
      },
      sections: { idp: idpConfigSchema },
      env: {},
    }).idp;
    const createdIdp = await createIdp({ config: idpConfig, sql, state, logger, publicUrl });
    idp = createdIdp;
    cleanups.push(() => createdIdp.close());
    const seeded = await seedDevelopmentFixtures(createdIdp);
    if (!seeded.accounts.includes('alice')) throw new Error('the demo accounts were not seeded');
    await addDemoAccounts(createdIdp, options);

    const handle = await example.start({
      publicUrl,
      issuer,
      jwksUri: `${idpUrl}/auth/jwks`,
      tokenEndpoint: `${idpUrl}/auth/token`,
      sql,
      logger,
      mode: 'development',
    });
    cleanups.push(() => handle.close());

    await gateway.reload({
      authz: GATEWAY_AUTHZ,
      auth: { issuer, audiences: [publicUrl], jwksUri: `${idpUrl}/auth/jwks` },
      routes: [
        // forwardToken: the identity provider reads the client's Authorization header (token endpoint,
        // client_secret_basic; userinfo) and the session cookie (/authentication/whoami, logout).
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
    return { publicUrl, issuer, idpUrl, idp: createdIdp, sql, handle, close };
  } catch (err) {
    await close();
    throw err;
  }
}
