import { hkdfSync } from 'node:crypto';
import type { Logger, Registry, SharedState, Sql } from '@gatehouse/core';
import type Provider from 'oidc-provider';
import { resolveAccountsConfig } from './accounts/accounts-config.ts';
import { type Audit, type AuditEventType, attachProviderAudit, createAudit } from './audit/audit.ts';
import { auditBacklogFor } from './audit/audit-backlog.ts';
import { auditEventCounter } from './audit/audit-metrics.ts';
import { DEV_KEY_ENCRYPTION_SECRET, type IdpConfig } from './config-schema.ts';
import { closeDirectoryServiceOf } from './directory/directory-service.ts';
import { idpErrors } from './errors.ts';
import { createIdpServer, type HttpHandler } from './idp-server.ts';
import { cookieKeygrip } from './keys/cookie-keygrip.ts';
import { createKeyManager, type KeyManager, type KeyRing, rotateKeys } from './keys/keys.ts';
import { resolveMfaConfig } from './mfa/mfa-config.ts';
import { resolveRelyingParty } from './mfa/passkey-config.ts';
import { clientMetadataFromConfig, seedDemoClients, syncConfigClients } from './protocol/clients.ts';
import { jwtTokenMiddleware, markStructuredTokenRefusal } from './protocol/jwt-tokens.ts';
import {
  findProviderClient,
  resumePathPattern,
  validateClientMetadata,
} from './protocol/oidc-provider-internals.ts';
import { type AccountsPort, buildProvider, type ProviderPages, ROUTES } from './protocol/provider.ts';
import { registerTokenExchange } from './protocol/token-exchange.ts';
import { logoutRevocationMiddleware } from './revocation/logout-revocation.ts';
import { createRevocationFeed } from './revocation/revocation-feed.ts';
import { createRevocationPublisher, type RevocationPublisher } from './revocation/revocation-publisher.ts';
import { createAdapterClass } from './storage/adapter.ts';
import { createGrantRevoker, type GrantRevoker } from './storage/grant-revoker.ts';
import { markIfStorageUnavailable, storageUnavailableMiddleware } from './storage/storage-unavailable.ts';
import { sweepExpired } from './storage/sweep-expired.ts';
import { accountReadAheadOf } from './storage/unit-of-work.ts';
import { unitOfWorkMiddleware } from './storage/unit-of-work-middleware.ts';

// What the CLI's admin verbs need besides createIdp: the account store, audit trail, sessions.
export {
  type AccountServices,
  accountServices,
  accountsConfigOf,
  createIdpAccounts,
} from './accounts/account-services.ts';
export type { Account, Accounts, AccountWithRoles, CreateAccountInput } from './accounts/accounts.ts';
export {
  type AccountsConfig,
  accountsConfigSchema,
  resolveAccountsConfig,
} from './accounts/accounts-config.ts';
// The password hash on its own, for benchmarks that measure a login against the hash alone.
export { createPasswordHasher, type PasswordHasher } from './accounts/passwords.ts';
export {
  type Audit,
  type AuditEvent,
  type AuditEventType,
  type AuditQuery,
  attachProviderAudit,
  auditEventTypes,
  createAudit,
  type StoredAuditEvent,
} from './audit/audit.ts';
// Brokering's development upstream ("Example Corp"), which `gatehouse dev` starts.
export { type DemoUpstream, demoPeople, startDemoUpstream } from './brokering/demo-upstream.ts';
export * from './config-schema.ts';
export * from './errors.ts';
export type { HttpHandler } from './idp-server.ts';
export * from './keys/keys.ts';
export { ACR_MFA } from './mfa/acr.ts';
export * from './protocol/clients.ts';
export type { Actor } from './protocol/exchange-claims.ts';
export { verifyAccessToken } from './protocol/jwt-tokens.ts';
export type { AccountsPort, IdpAccount, ProviderPages } from './protocol/provider.ts';
export { ACCESS_TOKEN_TYPE } from './protocol/token-exchange.ts';
export * from './revocation/revocation-publisher.ts';
export { createSessionStore, type SessionRecord, type SessionStore } from './sessions/sessions.ts';

/** The idp's migrations, for `migrate(sql, [idpMigrations, ...])`. */
export const idpMigrations = { component: 'idp', dir: new URL('../migrations/', import.meta.url) };

/**
 * What the pages, the session API and the admin API get from the identity provider.
 * `provider()` is a function: the provider is rebuilt when the signing keys change.
 */
export interface IdpRuntime {
  config: IdpConfig;
  mode: 'development' | 'production';
  issuer: string;
  defaultAudience: string;
  sql: Sql;
  state: SharedState;
  logger: Logger;
  provider(): Provider;
  keys: KeyManager;
  revocations: RevocationPublisher;
  grants: GrantRevoker;
  accounts: AccountsPort | undefined;
  /** Counts each audit event by type (createIdp's `metrics`); undefined without metrics. */
  countAuditEvent: ((type: AuditEventType) => void) | undefined;
}

/** A factory for one of the handlers idp-server.ts dispatches to. */
export type HandlerFactory = (idp: IdpRuntime) => HttpHandler | Promise<HttpHandler>;

export interface CreateIdpOptions {
  /** The validated `idp` config section. */
  config: IdpConfig;
  sql: Sql;
  state: SharedState;
  logger: Logger;
  /** Production refuses the development key-encryption secret. Default development. */
  mode?: 'development' | 'production';
  /** `server.publicUrl`: the default issuer is publicUrl + /auth and the default audience publicUrl. */
  publicUrl?: string;
  /** Account lookups (`createAccounts(...)` from accounts.ts); without it no user can sign in. */
  accounts?: AccountsPort;
  pages?: ProviderPages;
  /** Where provider events (token issued, refresh-token reuse, grant revoked, logout) are recorded;
   * default the account store's audit trail, or one on `sql`. */
  audit?: Audit;
  /** Handlers for /auth/interaction/*, /authentication/*, /auth/admin/*; by default loaded from
   * interactions.ts (`createInteractionHandler`), session-api.ts (`createSessionApi`) and
   * admin-api.ts (`createAdminApi`) when those modules exist. */
  interactions?: HandlerFactory;
  sessionApi?: HandlerFactory;
  /** The account page at /account; by default account-page.ts (`createAccountPage`) when it exists. */
  accountPage?: HandlerFactory;
  adminApi?: HandlerFactory;
  /** false: load no sibling handler module that was not passed in. Default true. */
  autoload?: boolean;
  /** The process's metrics registry: audit events are counted on it (audit-metrics.ts). */
  metrics?: Registry;
}

export interface Idp {
  handler: HttpHandler;
  issuer: string;
  /** `aud` of access tokens that name no resource. */
  defaultAudience: string;
  /** The current oidc-provider instance. */
  readonly provider: Provider;
  keys: KeyManager;
  revocations: RevocationPublisher;
  runtime: IdpRuntime;
  close(): Promise<void>;
}

/** `cookies.keys` for oidc-provider: derived from the key-encryption secret, so every replica agrees. */
function cookieKeys(secret: string): string[] {
  return [
    Buffer.from(hkdfSync('sha256', secret, 'gatehouse-idp', 'cookie-signing/v1', 32)).toString('base64url'),
  ];
}

/** Load an optional sibling module's export without a static import (it may not exist yet). */
async function optionalExport<T>(file: string, name: string): Promise<T | undefined> {
  try {
    // Siblings are .ts in the repository and .js in the npm package, like this module.
    const sibling = import.meta.url.endsWith('.ts') ? file : file.replace(/\.ts$/, '.js');
    const mod = (await import(new URL(sibling, import.meta.url).href)) as Record<string, unknown>;
    return mod[name] as T | undefined;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

export function resolveIssuer(config: IdpConfig, publicUrl: string | undefined): string {
  const issuer =
    config.issuer ?? (publicUrl === undefined ? undefined : `${publicUrl.replace(/\/$/, '')}/auth`);
  if (!issuer) throw idpErrors.create('IDP_CONFIG_INVALID', 'idp.issuer or server.publicUrl is required');
  return issuer;
}

export async function createIdp(options: CreateIdpOptions): Promise<Idp> {
  const { config, sql, state, logger } = options;
  const mode = options.mode ?? 'development';
  if (mode === 'production' && config.keyEncryptionSecret === DEV_KEY_ENCRYPTION_SECRET) {
    throw idpErrors.create('IDP_DEV_SECRET_IN_PRODUCTION');
  }
  const issuer = resolveIssuer(config, options.publicUrl);
  if (mode === 'production' && new URL(issuer).protocol !== 'https:') {
    // Tokens, codes and session cookies must not cross the network in clear (OIDC Core 16.17).
    throw idpErrors.create(
      'IDP_CONFIG_INVALID',
      `the issuer must be an https URL in production (got ${issuer})`,
    );
  }
  const defaultAudience = config.defaultAudience ?? options.publicUrl ?? new URL(issuer).origin;
  const autoload = options.autoload ?? true;

  // The account store: given, or (autoload) the one account-services.ts builds from the runtime,
  // attached once the runtime exists; oidc-provider reads it at each use.
  let accounts = options.accounts;

  for (const c of config.clients) clientMetadataFromConfig(c); // throws IDP_CLIENT_INVALID early
  // The passkeys' relying party against the issuer: a wrong origin or RP ID fails the start.
  resolveRelyingParty(resolveMfaConfig((config as { mfa?: unknown }).mfa ?? {}), issuer);
  const revocations = createRevocationPublisher({ sql, state, logger });
  const grants = createGrantRevoker(sql, revocations);
  // The built-in account store's rows are read with the code or interaction that names them.
  const Adapter = createAdapterClass({
    sql,
    grants,
    logger,
    accountReadAhead: () => accountReadAheadOf(accounts),
  });
  const givenAudit = (options.accounts as { audit?: Audit } | undefined)?.audit;
  const countAuditEvent = options.metrics ? auditEventCounter(options.metrics) : undefined;
  const audit =
    options.audit ??
    (typeof givenAudit?.record === 'function'
      ? givenAudit
      : createAudit(sql, { logger, onRecord: countAuditEvent }));

  const makeProvider = (keyRing: KeyRing): Provider => {
    const p = buildProvider({
      config,
      issuer,
      defaultAudience,
      keyRing,
      adapter: Adapter,
      sql,
      cookieKeys: cookieKeys(config.keyEncryptionSecret),
      logger,
      accounts: () => accounts,
      isSidRevoked: (sid) => revocations.isRevoked('sid', sid),
      pages: options.pages ?? defaultPages,
      interactionPath: `${new URL(issuer).pathname.replace(/\/$/, '')}/interaction`,
    });
    // Cookie signatures as keygrip makes them, with the keys imported once (cookie-keygrip.ts).
    p.keys = cookieKeygrip(cookieKeys(config.keyEncryptionSecret));
    // Outermost: a request that failed on the database is a 503 with Retry-After (storage-unavailable.ts).
    p.use(storageUnavailableMiddleware(logger));
    p.on('server_error', markIfStorageUnavailable);
    // Opens the unit of work of a token request (its writes in one statement) and of an
    // authorization resume (/auth/:uid, its writes together), unit-of-work-middleware.ts.
    // (oidc-provider sees paths below the issuer.)
    p.use(
      unitOfWorkMiddleware({
        sql,
        logger,
        tokenPath: ROUTES.token,
        resumePath: resumePathPattern(ROUTES.authorization),
        renderError: (options.pages ?? defaultPages)?.renderError,
      }),
    );
    registerTokenExchange(p, {
      issuer,
      keys: () => keys.verifier(),
      revocations,
      clockToleranceSeconds: config.clockToleranceSeconds,
      sql,
      accounts: () => accounts,
      alg: config.signingAlgorithm,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      logger,
    });
    p.use(
      logoutRevocationMiddleware({
        revocations,
        tokenLifetimeSeconds: config.accessTokenTtlSeconds + config.clockToleranceSeconds,
        logger,
      }),
    );
    attachProviderAudit(p, audit);
    p.on('introspection.error', markStructuredTokenRefusal);
    p.on('revocation.error', markStructuredTokenRefusal);
    p.use(
      jwtTokenMiddleware({
        issuer,
        keys: () => keys.verifier(),
        revocations,
        accounts: () => accounts,
        clockToleranceSeconds: config.clockToleranceSeconds,
        logger,
        userinfoPath: ROUTES.userinfo,
        findClient: (clientId) => findProviderClient(p, clientId),
      }),
    );
    return p;
  };

  let defaultPages: ProviderPages | undefined;
  if (!options.pages && autoload) {
    const pages = await optionalExport<(o?: object) => ProviderPages>(
      './pages/provider-pages.ts',
      'providerPages',
    );
    const theme = resolveAccountsConfig((config as { accounts?: unknown }).accounts ?? {}).theme;
    defaultPages = pages?.(theme === '' ? {} : { theme });
  }

  let provider: Provider | undefined;
  const keys = await createKeyManager(sql, config, (ring) => {
    provider = makeProvider(ring);
    logger.info({ keys: ring.infos.map((k) => `${k.kid}:${k.state}`) }, 'signing keys changed');
  });
  if (config.keyRotationDays > 0) {
    const r = await rotateKeys(sql, config, { ifOlderThanDays: config.keyRotationDays });
    if (r.rotated) logger.info({ activated: r.activated, retired: r.retired }, 'scheduled key rotation');
  }
  await keys.reload();
  provider ??= makeProvider(keys.current());

  // Validate the config clients with oidc-provider's own metadata rules before serving them.
  for (const c of config.clients) {
    try {
      await validateClientMetadata(provider, clientMetadataFromConfig(c));
    } catch (cause) {
      const detail = (cause as { error_description?: string }).error_description ?? String(cause);
      throw idpErrors.create('IDP_CLIENT_INVALID', `client ${c.clientId}: ${detail}`, { cause });
    }
  }
  await syncConfigClients(sql, config.clients);
  await revocations.restore();

  const runtime: IdpRuntime = {
    config,
    mode,
    issuer,
    defaultAudience,
    sql,
    state,
    logger,
    provider: () => provider!,
    keys,
    revocations,
    grants,
    accounts,
    countAuditEvent,
  };
  if (!accounts && autoload) {
    const services = await optionalExport<(idp: IdpRuntime) => { accounts: AccountsPort }>(
      './accounts/account-services.ts',
      'accountServices',
    );
    if (services) {
      accounts = services(runtime).accounts;
      runtime.accounts = accounts;
    }
  }

  async function handlerFrom(given: HandlerFactory | undefined, file: string, name: string) {
    const factory = given ?? (autoload ? await optionalExport<HandlerFactory>(file, name) : undefined);
    return factory ? factory(runtime) : undefined;
  }

  let closing = false;
  const handler = createIdpServer({
    issuer,
    provider: () => provider!,
    logger,
    // Without the shared state the idp still issues tokens and signs in (brute-force counters per
    // replica): it stays ready, `degraded`.
    health: {
      checks: { sql: () => sql.ping() },
      degradable: { state: () => state.ping() },
      draining: () => closing,
    },
    interactions: await handlerFrom(
      options.interactions,
      './protocol/interactions.ts',
      'createInteractionHandler',
    ),
    sessionApi: await handlerFrom(options.sessionApi, './session-api/session-api.ts', 'createSessionApi'),
    accountPage: await handlerFrom(options.accountPage, './account/account-page.ts', 'createAccountPage'),
    adminApi: await handlerFrom(options.adminApi, './admin/admin-api.ts', 'createAdminApi'),
    revocationFeed: createRevocationFeed({ revocations, token: config.revocationFeedToken, logger }),
  });

  // Background upkeep; each timer is unref'd so it never keeps the process alive.
  const timers: NodeJS.Timeout[] = [];
  const every = (seconds: number, what: string, fn: () => Promise<unknown>) => {
    const t = setInterval(() => {
      fn().catch((err: unknown) => logger.error({ err }, `${what} failed`));
    }, seconds * 1000);
    t.unref();
    timers.push(t);
  };
  every(config.keyReloadSeconds, 'signing key reload', () => keys.reload());
  every(300, 'expired row sweep', async () => {
    await sweepExpired(sql);
    await revocations.prune();
  });
  if (config.keyRotationDays > 0) {
    every(3600, 'scheduled key rotation', async () => {
      const r = await rotateKeys(sql, config, { ifOlderThanDays: config.keyRotationDays });
      if (r.rotated) await keys.reload();
    });
  }

  return {
    handler,
    issuer,
    defaultAudience,
    get provider() {
      return provider!;
    },
    keys,
    revocations,
    runtime,
    async close() {
      closing = true;
      for (const t of timers) clearInterval(t);
      await closeDirectoryServiceOf(runtime);
      // One last try for audit events held while the database did not answer.
      await auditBacklogFor(sql, logger).flush();
    },
  };
}

/**
 * Development fixtures: the demo clients (clients.ts) and, when the account store is there, the
 * demo accounts (demo-accounts.ts). Refused in production mode: the demo secrets are public.
 * `demoServiceResources`: the resource indicators `demo-service` may ask tokens for, with their scopes
 * (the dev stack gives it the permission service's).
 */
export async function seedDevelopmentFixtures(
  idp: Idp,
  options: { demoServiceResources?: Record<string, string[]> } = {},
): Promise<{ clients: string[]; accounts: string[] }> {
  if (idp.runtime.mode === 'production') {
    throw idpErrors.create('IDP_DEMO_IN_PRODUCTION');
  }
  const clients = await seedDemoClients(
    idp.runtime.sql,
    new URL(idp.issuer).origin,
    options.demoServiceResources,
  );
  let accounts: string[] = [];
  const seed = await optionalExport<(accounts: unknown) => Promise<string[]>>(
    './accounts/demo-accounts.ts',
    'seedDemoAccounts',
  );
  const store = idp.runtime.accounts as { roles?: unknown; create?: unknown } | undefined;
  if (seed && store && typeof store.create === 'function' && store.roles !== undefined)
    accounts = await seed(store);
  idp.runtime.logger.info({ clients, accounts }, 'development fixtures seeded');
  return { clients, accounts };
}
