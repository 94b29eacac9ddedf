import { createServer } from 'node:http';
import {
  createLogger,
  createMetricsRegistry,
  type Logger,
  REVOCATIONS_FEED_PATH,
  Shutdown,
  withOpsEndpoints,
} from '@gatehouse/core';
import { createGateway, type RouteConfig } from '@gatehouse/gateway';
import {
  ACR_MFA,
  createIdp,
  type Idp,
  type IdpConfig,
  resolveIssuer,
  seedDevelopmentFixtures,
  startDemoUpstream,
} from '@gatehouse/idp';
import { authzAudience, authzDevPrefix, createAuthzServer } from './authz-server.ts';
import { CONSOLE_CLIENT_ID, consoleBffClient, consoleClient, consoleNeedsMfa } from './console-client.ts';
import { createDemoService } from './demo-service.ts';
import { devBrowserSessions } from './dev-browser-sessions.ts';
import type { Example, ExampleHandle } from './examples.ts';
import { createLandingPage, type LandingService } from './landing-page.ts';
import type { GatehouseConfig } from './load-config.ts';
import { listen, openSharedState, openStorage } from './runtime.ts';

export interface Stack {
  shutdown: Shutdown;
  gatewayUrl: string;
  issuer: string;
  demoSeeded: boolean;
  logger: Logger;
  /**
   * Swap in the routes of a new `gateway` section (the configuration file's), keeping the built-in
   * routes and the reference systems' in front of them, as at start.
   */
  reloadGateway(section: unknown): Promise<void>;
}

export interface StackOptions {
  demo: boolean;
  /** Reference systems to run behind the gateway (development). */
  examples?: Example[];
}

interface AccountStoreForSeeding {
  roles: { ensure(name: string, description?: string): Promise<void> };
  getByUsername(username: string): Promise<unknown>;
  create(input: object, options: object): Promise<unknown>;
}

/** Roles and demo users a reference system brings (PartsCoder's `editor`, carol), development only. */
async function seedExampleAccounts(idp: Idp, examples: Example[]): Promise<void> {
  const store = idp.runtime.accounts as unknown as AccountStoreForSeeding | undefined;
  if (!store) return;
  for (const e of examples) {
    for (const r of e.roles ?? []) await store.roles.ensure(r.name, r.description);
    for (const a of e.demoAccounts ?? []) {
      if (await store.getByUsername(a.username)) continue;
      await store.create({ ...a, roles: [...a.roles] }, { allowCommonPassword: true, actor: 'demo-seed' });
    }
  }
}

/**
 * Everything `gatehouse dev` runs, in one process: the identity provider, the demo service and the
 * reference systems on internal loopback ports, and the gateway in front of them on `server.port`,
 * so the whole system shares one origin (`server.publicUrl`).
 */
export async function startStack(config: GatehouseConfig, options: StackOptions): Promise<Stack> {
  const logger = createLogger({ level: config.log.level });
  const shutdown = new Shutdown(logger, config.server.shutdownTimeoutMs, config.server.drainDelayMs);
  const examples = options.examples ?? [];
  try {
    const sql = await openStorage(config, logger);
    shutdown.add('sql', () => sql.close());
    const state = await openSharedState(config);
    shutdown.add('state', () => state.close());

    const publicUrl = config.server.publicUrl.replace(/\/$/, '');
    const idpSection = config.idp as unknown as IdpConfig;
    const site = { publicUrl, issuer: resolveIssuer(idpSection, publicUrl) };
    const authzOn = config.authz.dev;
    type GatewaySection = {
      auth?: Record<string, unknown>;
      routes?: unknown[];
      authz?: unknown;
      bff?: {
        enabled?: boolean;
        loginPath?: string;
        redirectPath?: string;
        clients?: { clientId: string }[];
      };
    };
    const gatewaySection = config.gateway as GatewaySection;
    // Pages for people (`browser: true`) need browser sessions; development brings its own.
    const browserSessions =
      config.mode === 'development' && gatewaySection.bff?.enabled !== true
        ? devBrowserSessions(publicUrl)
        : undefined;
    // The admin console needs browser sessions: the gateway signs people in as the console's own
    // client and hands it their token.
    const signInOn = browserSessions !== undefined || gatewaySection.bff?.enabled === true;
    // Imported when present: the npm package of the CLI runs without the console.
    const consolePackage = signInOn
      ? await import('@gatehouse/console').catch((err: unknown) => {
          logger.info({ err: (err as Error).message }, 'admin console not installed; /admin is off');
          return undefined;
        })
      : undefined;
    // A second factor for the console where the MFA policy asks one of admins: at the identity
    // provider (the client's default acr) and at the gateway (the route's step-up).
    const consoleMfa = consoleNeedsMfa(idpSection as { mfa?: Record<string, unknown> });
    const extraResources = examples.flatMap((e) => e.resources?.(site) ?? []);
    const idpConfig: IdpConfig = {
      ...idpSection,
      resources: [...idpSection.resources, ...extraResources, ...(authzOn ? [authzAudience(config)] : [])],
      clients: [
        ...idpSection.clients,
        ...examples.flatMap((e) => e.clients(site)),
        ...(browserSessions ? [browserSessions.client] : []),
        ...(consolePackage && !idpSection.clients.some((c) => c.clientId === CONSOLE_CLIENT_ID)
          ? [
              consoleClient(publicUrl, {
                redirectPath: gatewaySection.bff?.redirectPath,
                requireMfa: consoleMfa,
              }),
            ]
          : []),
      ],
      // The reference systems' back-channel logout endpoints are on loopback, which oidc-provider's
      // SSRF guard refuses unless told otherwise; only in development, only when they run.
      ...(config.mode === 'development' && examples.length > 0 ? { allowPrivateNetworkFetch: true } : {}),
    };
    if (options.demo && config.mode === 'development') {
      // "Example Corp", a second OpenID provider of its own, offered as a sign-in button (brokering).
      const upstream = await startDemoUpstream({
        redirectUris: [`${site.issuer.replace(/\/$/, '')}/interaction/broker-callback`],
      });
      shutdown.add('demo upstream', () => upstream.close());
      const brokering = (idpConfig as { brokering?: { providers?: object[] } }).brokering ?? {};
      (idpConfig as { brokering?: object }).brokering = {
        ...brokering,
        providers: [
          ...(brokering.providers ?? []),
          {
            id: 'example-corp',
            name: 'Example Corp',
            issuer: upstream.issuer,
            clientId: upstream.clientId,
            clientSecret: upstream.clientSecret,
            scopes: ['openid', 'profile', 'email', 'groups'],
            roles: { defaultRoles: ['user'] },
          },
        ],
      };
      logger.info({ issuer: upstream.issuer }, 'demo upstream provider (Example Corp) started');
    }
    const idpMetrics = createMetricsRegistry('idp');
    const idp = await createIdp({
      config: idpConfig,
      mode: config.mode,
      publicUrl,
      sql,
      state,
      logger,
      metrics: idpMetrics,
    });
    shutdown.add('idp', () => idp.close());
    if (options.demo) {
      // demo-service may ask for the permission service's scopes; listing its own resources confines
      // it to them, so every other resource is listed too, with the scopes it had before (none).
      const demoServiceResources = authzOn
        ? {
            ...Object.fromEntries(idpConfig.resources.map((r) => [r, [] as string[]])),
            [authzAudience(config)]: [config.authz.auth.readScope, config.authz.auth.writeScope],
          }
        : undefined;
      await seedDevelopmentFixtures(idp, demoServiceResources ? { demoServiceResources } : {});
      await seedExampleAccounts(idp, examples);
    }

    const draining = () => shutdown.draining;
    const idpServer = createServer(
      withOpsEndpoints(idp.handler, {
        checks: { storage: () => sql.ping(), state: () => state.ping() },
        draining,
        metrics: idpMetrics,
      }),
    );
    shutdown.addServer(idpServer);
    const idpUrl = await listen(idpServer, 0, '127.0.0.1');
    const idpPath = new URL(idp.issuer).pathname.replace(/\/$/, '');

    const demoServer = createDemoService(draining);
    shutdown.addServer(demoServer);
    const demoUrl = await listen(demoServer, 0, '127.0.0.1');

    let authzUrl: string | undefined;
    if (authzOn) {
      const authzServer = await createAuthzServer({
        config,
        sql,
        logger,
        baseUrl: `${publicUrl}${authzDevPrefix}`,
        // Keys straight from the idp's internal port, over HTTP like any service.
        jwksUri: `${idpUrl}${idpPath}/jwks`,
        // The admin console manages permissions with the person's own token, meant for the admin API.
        admins: config.authz.auth.admins ?? { audience: idp.defaultAudience, role: 'admin' },
        draining,
      });
      shutdown.addServer(authzServer);
      authzUrl = await listen(authzServer, 0, '127.0.0.1');
    }

    const started: { title: string; handle: ExampleHandle }[] = [];
    for (const e of examples) {
      const handle = await e.start({
        publicUrl,
        issuer: idp.issuer,
        jwksUri: `${idpUrl}${idpPath}/jwks`,
        tokenEndpoint: `${idpUrl}${idpPath}/token`,
        sql,
        logger: logger.child({ example: e.name }),
        mode: config.mode,
      });
      // Registered after sql and state, so closed before them.
      shutdown.add(`example ${e.name}`, () => handle.close());
      started.push({ title: e.title, handle });
    }

    const landingServices: LandingService[] = [
      {
        system: 'Gatehouse',
        name: 'identity provider',
        url: idpUrl,
        healthPath: '/health/ready',
        routes: ['/auth', '/authentication'],
      },
      { system: 'Gatehouse', name: 'demo service', url: demoUrl, healthPath: '/health', routes: ['/echo'] },
      ...(authzUrl
        ? [
            {
              system: 'Gatehouse',
              name: 'permission service',
              url: authzUrl,
              healthPath: '/health/ready',
              routes: [authzDevPrefix],
            },
          ]
        : []),
      ...started.flatMap(({ title, handle }) => handle.services.map((s) => ({ system: title, ...s }))),
    ];
    // Without SMTP, development mode keeps the identity provider's mail in its mailbox (idp mail/).
    const mailbox =
      config.mode === 'development' && !(idpConfig.mail as { smtp?: unknown } | undefined)?.smtp
        ? '/authentication/dev/mailbox'
        : undefined;
    let consoleUrl: string | undefined;
    // The console's gateway page reads the gateway's metrics (on loopback) and its routes now.
    let gatewayMetricsUrl: string | undefined;
    let gatewayRoutes: RouteConfig[] = [];
    if (consolePackage) {
      const { createConsole } = consolePackage;
      const consoleServer = createServer(
        createConsole({
          adminApiUrl: `${idpUrl}${idpPath}/admin`,
          // The permission service accepts the person's token for the admin API (authz admins above).
          authzUrl,
          publicUrl,
          base: '/admin',
          logger,
          gateway: {
            metricsUrl: () => gatewayMetricsUrl,
            routes: () =>
              gatewayRoutes.map((r) => ({
                id: r.id,
                match: r.match as Record<string, unknown>,
                policy: r.policy,
                upstreams: r.upstreams,
                ...(r.browser ? { browser: true } : {}),
                ...(r.rateLimit ? { rateLimit: r.rateLimit as { average: number } } : {}),
                ...(r.inflight ? { inflight: r.inflight } : {}),
              })),
          },
        }),
      );
      shutdown.addServer(consoleServer);
      consoleUrl = await listen(consoleServer, 0, '127.0.0.1');
    }

    const landing = createLandingPage({
      services: landingServices,
      issuer: idp.issuer,
      mailbox,
      ...(signInOn
        ? { signInPath: `${gatewaySection.bff?.loginPath ?? '/_gatehouse/bff/login'}?return_to=%2F` }
        : {}),
      links: [
        ...(signInOn ? [{ title: 'Your account', href: '/account' }] : []),
        ...(consoleUrl ? [{ title: 'Admin console', href: '/admin' }] : []),
      ],
    });
    shutdown.addServer(landing);
    const landingUrl = await listen(landing, 0, '127.0.0.1');

    const builtInRoutes = [
      // forwardToken: the idp itself reads Authorization (client_secret_basic, admin API, userinfo)
      // and the session cookie (whoami, logout).
      { id: 'idp', match: { path: idpPath }, upstreams: [idpUrl], policy: 'public', forwardToken: true },
      {
        id: 'authentication',
        match: { path: '/authentication' },
        upstreams: [idpUrl],
        policy: 'public',
        forwardToken: true,
      },
      { id: 'demo-echo', match: { path: '/echo' }, upstreams: [demoUrl], policy: 'authenticated' },
      // The permission service checks its callers' tokens itself (its own audience and scopes).
      ...(authzUrl
        ? [
            {
              id: 'authz',
              match: { path: authzDevPrefix },
              upstreams: [authzUrl],
              policy: 'public',
              forwardToken: true,
              stripPrefix: true,
            },
          ]
        : []),
      // The account page (the idp's own): a page for people when the gateway keeps browser sessions,
      // else reachable with the first-party session cookie only.
      {
        id: 'account-page',
        match: { path: '/account' },
        upstreams: [idpUrl],
        ...(signInOn ? { policy: 'authenticated', browser: true } : { policy: 'public' }),
        forwardToken: true,
      },
      ...(consoleUrl
        ? [
            {
              id: 'admin-console',
              match: { path: '/admin' },
              upstreams: [consoleUrl],
              // The console refuses a person without the admin role with a page of its own, and the
              // admin API decides again on every call.
              policy: 'authenticated',
              browser: true,
              bffClient: CONSOLE_CLIENT_ID,
              forwardToken: true,
              ...(consoleMfa ? { stepUp: { acr: [ACR_MFA] } } : {}),
            },
          ]
        : []),
      {
        id: 'landing-page',
        match: { pattern: '/', methods: ['GET'] },
        upstreams: [landingUrl],
        policy: 'public',
      },
    ];
    // A reference system's `permission` routes (Beep's) run the engine in the gateway on the shared
    // storage, unless the configuration says where the engine is.
    const examplePermissions = started.some(({ handle }) =>
      handle.routes.some((r) => typeof r.policy === 'object' && 'permission' in r.policy),
    );
    const compose = (gatewaySection: GatewaySection) => ({
      ...gatewaySection,
      ...(examplePermissions && gatewaySection.authz === undefined ? { authz: {} } : {}),
      // The gateway reads the JWKS straight from the idp's internal port, not through itself.
      // The revocation feed too: it lives on the idp's own listener only.
      auth: {
        jwksUri: `${idpUrl}${idpPath}/jwks`,
        revocationFeed: {
          url: `${idpUrl}${REVOCATIONS_FEED_PATH}`,
          ...(idpConfig.revocationFeedToken ? { token: idpConfig.revocationFeedToken } : {}),
        },
        ...gatewaySection.auth,
      },
      ...(browserSessions || consoleUrl
        ? { bff: withConsoleClient({ ...gatewaySection.bff, ...browserSessions?.bff }, consoleUrl) }
        : {}),
      routes: [
        ...builtInRoutes,
        ...started.flatMap(({ handle }) => handle.routes as RouteConfig[]),
        ...(gatewaySection.routes ?? []),
      ],
    });
    const composed = compose(config.gateway as GatewaySection);
    gatewayRoutes = composed.routes as RouteConfig[];
    const gateway = await createGateway({
      config: composed,
      state,
      logger,
      publicUrl,
      sql,
    });
    shutdown.addServer(gateway.server);
    shutdown.onDrain(() => gateway.drain());
    shutdown.add('gateway', () => gateway.close());
    const gatewayUrl = await listen(gateway.server, config.server.port, config.server.host);
    gatewayMetricsUrl = `${gatewayUrl}/_gatehouse/metrics`;
    return {
      shutdown,
      gatewayUrl,
      issuer: idp.issuer,
      demoSeeded: options.demo,
      logger,
      reloadGateway: async (section) => {
        const next = compose((section ?? {}) as GatewaySection);
        await gateway.reload(next);
        gatewayRoutes = next.routes as RouteConfig[];
      },
    };
  } catch (err) {
    await shutdown.close();
    throw err;
  }
}

/** The BFF section with the console's client among its public clients, when the console runs. */
function withConsoleClient(
  bff: { clients?: { clientId: string }[] } & Record<string, unknown>,
  consoleUrl: string | undefined,
): Record<string, unknown> {
  const clients = bff.clients ?? [];
  if (!consoleUrl || clients.some((c) => c.clientId === CONSOLE_CLIENT_ID)) return bff;
  return { ...bff, clients: [...clients, consoleBffClient] };
}
