import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, loadConfig, type SharedState, type Sql, silentLogger } from '@gatehouse/core';
import { openTestSql, openTestState, type TestSql, type TestState } from '@gatehouse/core/testing';
import { createAccountPage } from '../src/account/account-page.ts';
import { accountServices } from '../src/accounts/account-services.ts';
import { type Accounts, createAccounts } from '../src/accounts/accounts.ts';
import { type AccountsConfig, resolveAccountsConfig } from '../src/accounts/accounts-config.ts';
import { seedDemoAccounts } from '../src/accounts/demo-accounts.ts';
import { createAdminApi } from '../src/admin/admin-api.ts';
import { createAudit } from '../src/audit/audit.ts';
import {
  createDirectoryService,
  type DirectoryService,
  directoryServiceOf,
} from '../src/directory/directory-service.ts';
import {
  createIdp,
  type Idp,
  type IdpConfig,
  idpConfigSchema,
  idpMigrations,
  seedDemoClients,
} from '../src/index.ts';
import { providerPages } from '../src/pages/provider-pages.ts';
import { createInteractionHandler } from '../src/protocol/interactions.ts';
import { createSessionApi } from '../src/session-api/session-api.ts';

/**
 * A running identity provider wired with the real account store, demo accounts and clients, and the
 * session API, login pages and admin API, on 127.0.0.1:0 (the public URL is that origin).
 */
export interface AccountsIdp {
  idp: Idp;
  sql: Sql;
  state: SharedState;
  accounts: Accounts;
  config: AccountsConfig;
  /** The LDAP directory service when `directory` was given (its periodic sync is off: call sync()). */
  directory: DirectoryService | undefined;
  origin: string;
  close(): Promise<void>;
}

export async function startAccountsIdp(
  options: {
    db?: 'pglite' | 'postgres';
    accounts?: Record<string, unknown>;
    /** The `idp` section, or a function of the origin it will listen on (passkeys' origins). */
    idp?: Record<string, unknown> | ((origin: string) => Record<string, unknown>);
    /** Wrap the SQL layer the identity provider and the account store use (counting, faults). */
    wrapSql?: (sql: Sql) => Sql;
    /** The `idp.directory` section: directory sign-in through the account store. */
    directory?: Record<string, unknown>;
    logger?: Logger;
    /** The shared state to use (default a fresh in-process one); the caller closes it. */
    state?: SharedState;
  } = {},
): Promise<AccountsIdp> {
  const testSql: TestSql = await openTestSql(options.db ?? 'pglite', { migrations: [idpMigrations] });
  const testState: TestState | undefined = options.state ? undefined : await openTestState('memory');
  const sql = options.wrapSql ? options.wrapSql(testSql.sql) : testSql.sql;
  const state = options.state ?? testState!.state;
  const config = resolveAccountsConfig(options.accounts ?? {});
  let idp: Idp | undefined;
  const logger = options.logger ?? silentLogger();
  const audit = createAudit(sql);
  const directory = options.directory
    ? createDirectoryService({
        config: options.directory,
        sql,
        state,
        audit,
        logger,
        schedule: false,
        endSessions: async (userId) => {
          if (idp) await accountServices(idp.runtime).sessions.endAllOf(userId, 'directory');
        },
      })
    : undefined;
  const accounts = createAccounts(sql, { config, state, audit, logger, directory: directory?.passwords });
  await seedDemoAccounts(accounts);
  await seedDemoClients(sql);
  const server: Server = createServer((req, res) => {
    if (!idp) res.writeHead(503).end();
    else idp.handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const idpConfig = loadConfig<{ idp: IdpConfig }>({
    document: { idp: (typeof options.idp === 'function' ? options.idp(origin) : options.idp) ?? {} },
    sections: { idp: idpConfigSchema },
    env: {},
  }).idp;
  // The idp section may not mount `accounts` yet: hand the resolved section over on the runtime config.
  (idpConfig as unknown as { accounts: AccountsConfig }).accounts = config;
  idp = await createIdp({
    config: idpConfig,
    sql,
    state,
    logger,
    publicUrl: origin,
    accounts,
    autoload: false,
    sessionApi: createSessionApi,
    interactions: createInteractionHandler,
    adminApi: createAdminApi,
    accountPage: createAccountPage,
    pages: providerPages(),
  });
  const running = idp;
  // The admin API finds the directory of a runtime the way the idp's own account services register it.
  if (directory) directoryServiceOf(running.runtime, () => directory);
  return {
    idp: running,
    sql,
    state,
    accounts,
    config,
    directory,
    origin,
    async close() {
      await directory?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running.close();
      await testState?.cleanup();
      await testSql.cleanup();
    },
  };
}

/** The gatehouse_session value from a response's Set-Cookie, or undefined. */
export function sessionCookieOf(res: Response): string | undefined {
  for (const line of res.headers.getSetCookie()) {
    const match = /^gatehouse_session=([^;]*)/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/** A minimal browser cookie store for one origin (name → value), fed from Set-Cookie. */
export function browserCookies() {
  const jar = new Map<string, string>();
  return {
    take(res: Response): void {
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        const name = pair!.slice(0, eq).trim();
        const value = pair!.slice(eq + 1).trim();
        if (value === '' || /max-age=0|expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
        else jar.set(name, value);
      }
    },
    header(): string {
      return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    },
  };
}

/**
 * Sign in on the hosted page as `username` through the demo-app client (code + PKCE) and redeem
 * the code: resolves to the access token.
 */
export async function accessTokenFor(t: AccountsIdp, username: string, password: string): Promise<string> {
  return (await tokensFor(t, username, password)).access_token;
}

/**
 * demo-app's authorization URL for a code + PKCE S256 login, `params` added or replacing the
 * defaults, and the PKCE verifier (a fresh one unless given).
 */
export function authorizationRequest(
  t: AccountsIdp,
  params: Record<string, string> = {},
  verifier = randomBytes(32).toString('base64url'),
): { url: URL; verifier: string } {
  const url = new URL(`${t.origin}/auth/auth`);
  url.search = new URLSearchParams({
    client_id: 'demo-app',
    response_type: 'code',
    redirect_uri: 'http://localhost:8080/callback',
    scope: 'openid profile',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...params,
  }).toString();
  return { url, verifier };
}

/** Up to the login page in a fresh browser: the page, its CSRF token, the browser's cookies, the PKCE verifier. */
export async function openLoginPage(t: AccountsIdp, params: Record<string, string> = {}) {
  const { url, verifier } = authorizationRequest(t, params);
  const browser = browserCookies();
  const res = await fetch(url, { redirect: 'manual' });
  browser.take(res);
  const page = new URL(res.headers.get('location')!, t.origin);
  const html = await (await fetch(page, { headers: { cookie: browser.header() } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
  return { page, csrf, browser, verifier };
}

/**
 * Like accessTokenFor, with extra authorization parameters (a `client_id` among them names another
 * public client with demo-app's redirect URI); Allows consent when asked; resolves to the token response.
 */
export async function tokensFor(
  t: AccountsIdp,
  username: string,
  password: string,
  extra: Record<string, string> = {},
): Promise<{ access_token: string; refresh_token?: string }> {
  const redirectUri = 'http://localhost:8080/callback';
  const { page, csrf, browser, verifier } = await openLoginPage(t, extra);
  let res = await fetch(`${page}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: browser.header(),
      origin: t.origin,
    },
    body: new URLSearchParams({ csrf, username, password }).toString(),
  });
  for (let i = 0; i < 5; i++) {
    browser.take(res);
    const next = new URL(res.headers.get('location')!, t.origin);
    if (next.origin !== t.origin) {
      const token = await fetch(`${t.origin}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: next.searchParams.get('code')!,
          redirect_uri: redirectUri,
          client_id: extra['client_id'] ?? 'demo-app',
          code_verifier: verifier,
        }),
      });
      return (await token.json()) as { access_token: string; refresh_token?: string };
    }
    res = await fetch(next, { redirect: 'manual', headers: { cookie: browser.header() } });
    if (res.status === 200 && next.pathname.startsWith('/auth/interaction/')) {
      const consent = /name="csrf" value="([^"]+)"/.exec(await res.text())![1]!;
      res = await fetch(`${next}/confirm`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: browser.header(),
          origin: t.origin,
        },
        body: new URLSearchParams({ csrf: consent }).toString(),
      });
    }
  }
  throw new Error(`login as ${username} did not reach the client`);
}

/** A client-credentials token of a confidential client with the given roles (the client is created). */
export async function serviceToken(t: AccountsIdp, clientId: string, roles: string[]): Promise<string> {
  const { clientMetadataFromConfig, upsertClient } = await import('../src/protocol/clients.ts');
  const secret = `${clientId}-secret-0123456789`;
  await upsertClient(
    t.sql,
    clientMetadataFromConfig({
      clientId,
      clientSecret: secret,
      tokenEndpointAuthMethod: 'client_secret_basic',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      postLogoutRedirectUris: [],
      scope: '',
      roles,
      firstParty: true,
    }),
    'admin',
  );
  const res = await fetch(`${t.origin}/auth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`client credentials failed: ${JSON.stringify(body)}`);
  return body.access_token;
}
