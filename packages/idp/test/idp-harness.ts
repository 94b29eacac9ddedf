import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type SharedState, type Sql, silentLogger } from '@gatehouse/core';
import { openTestSql, openTestState, type TestSql, type TestState } from '@gatehouse/core/testing';
import {
  createIdp,
  type Idp,
  type IdpConfig,
  idpConfigSchema,
  idpMigrations,
  seedDemoClients,
} from '../src/index.ts';
import type { AccountsPort, IdpAccount } from '../src/protocol/provider.ts';

/**
 * A running identity provider for protocol tests: its own database (PGlite in memory, a PGlite data
 * folder, or a fresh PostgreSQL schema), an in-process state, the demo clients, a fake account
 * store with `alice` and `bob`, and an HTTP server on 127.0.0.1:0 whose origin is the public URL
 * (so the issuer is `http://127.0.0.1:<port>/auth`).
 */

export const ALICE = 'alice-id';
export const BOB = 'bob-id';

const users: Record<string, { username: string; roles: string[]; email: string }> = {
  [ALICE]: { username: 'alice', roles: ['admin', 'user'], email: 'alice@example.com' },
  [BOB]: { username: 'bob', roles: ['user'], email: 'bob@example.com' },
};

/** An account store for tests; `disabled` accounts are not found (as the real store's findAccount does). */
export function fakeAccounts(disabled = new Set<string>()): AccountsPort & { disabled: Set<string> } {
  return {
    disabled,
    async findAccount(_ctx, sub) {
      const u = users[sub];
      if (!u || disabled.has(sub)) return undefined;
      const account: IdpAccount = {
        accountId: sub,
        username: u.username,
        roles: u.roles,
        claims: () => ({ sub, preferred_username: u.username, email: u.email, email_verified: true }),
      };
      return account;
    },
  };
}

export function idpConfig(section: Record<string, unknown> = {}): IdpConfig {
  const all = loadConfig<{ idp: IdpConfig }>({
    document: { idp: section },
    sections: { idp: idpConfigSchema },
    env: {},
  });
  return all.idp;
}

export interface TestIdp {
  idp: Idp;
  sql: Sql;
  state: SharedState;
  /** http://127.0.0.1:<port> */
  origin: string;
  issuer: string;
  accounts: ReturnType<typeof fakeAccounts>;
  /** Stop the server and the idp (the database stays open). */
  stop(): Promise<void>;
  /** stop() and drop the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  db?: 'pglite' | 'postgres';
  /** Reuse a database (restart scenarios). */
  sql?: Sql;
  config?: Record<string, unknown>;
  /** The shared state to use instead of a fresh in-memory one (the caller closes it). */
  state?: SharedState;
}

export async function startIdp(options: StartOptions = {}): Promise<TestIdp> {
  let testSql: TestSql | undefined;
  let sql = options.sql;
  if (!sql) {
    testSql = await openTestSql(options.db ?? 'pglite', { migrations: [idpMigrations] });
    sql = testSql.sql;
  }
  const testState: TestState = options.state
    ? { state: options.state, keyPrefix: undefined, cleanup: async () => {} }
    : await openTestState('memory');
  let idp: Idp | undefined;
  const server: Server = createServer((req, res) => {
    if (!idp) {
      res.writeHead(503).end();
      return;
    }
    idp.handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = fakeAccounts();
  await seedDemoClients(sql);
  try {
    idp = await createIdp({
      config: idpConfig(options.config),
      sql,
      state: testState.state,
      logger: silentLogger(),
      publicUrl: origin,
      accounts,
      autoload: false,
    });
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await testState.cleanup();
    await testSql?.cleanup();
    throw err;
  }
  const running = idp;
  async function stop() {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await running.close();
    await testState.cleanup();
  }
  return {
    idp: running,
    sql,
    state: testState.state,
    origin,
    issuer: `${origin}/auth`,
    accounts,
    stop,
    async close() {
      await stop();
      await testSql?.cleanup();
    },
  };
}

/** Cookies from Set-Cookie headers, as a Cookie header value (merged with earlier ones). */
export function cookieJar() {
  const jar = new Map<string, string>();
  return {
    take(res: Response) {
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        const name = pair!.slice(0, eq).trim();
        const value = pair!.slice(eq + 1).trim();
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
        else jar.set(name, value);
      }
    },
    header(): string {
      return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    },
  };
}

/**
 * Drive an authorization request to its redirect, logging `accountId` in without the login page:
 * the test plays the interaction (login + consent) through oidc-provider's own Interaction model,
 * which is what the hosted pages do after checking a password. Resolves to the redirect Location.
 */
export async function authorize(
  t: TestIdp,
  authorizationUrl: URL | string,
  accountId: string,
  jar = cookieJar(),
): Promise<URL> {
  let res = await fetch(authorizationUrl, { redirect: 'manual', headers: { cookie: jar.header() } });
  jar.take(res);
  let location = res.headers.get('location');
  if (res.status !== 303 || !location)
    throw new Error(`authorization answered ${res.status}: ${await res.text()}`);
  let target = new URL(location, t.origin);
  if (target.pathname.startsWith('/auth/interaction/')) {
    const uid = target.pathname.split('/').pop()!;
    const provider = t.idp.provider;
    const interaction = await provider.Interaction.find(uid);
    if (!interaction) throw new Error('interaction not found');
    const params = interaction.params as { client_id: string; scope?: string };
    const grant = new provider.Grant({ accountId, clientId: params.client_id });
    const scope = params.scope ?? 'openid';
    grant.addOIDCScope(scope);
    grant.addResourceScope(t.idp.runtime.defaultAudience, scope);
    const grantId = await grant.save();
    interaction.result = { login: { accountId }, consent: { grantId } };
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
    res = await fetch(new URL(interaction.returnTo, t.origin), {
      redirect: 'manual',
      headers: { cookie: jar.header() },
    });
    jar.take(res);
    location = res.headers.get('location');
    if (res.status !== 303 || !location)
      throw new Error(`resume answered ${res.status}: ${await res.text()}`);
    target = new URL(location, t.origin);
  }
  return target;
}
