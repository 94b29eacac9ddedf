import { authzMigrations, createAuthz } from '@gatehouse/authz';
import { migrate } from '@gatehouse/core';
import { createPermissionClient, createVerifier } from '@gatehouse/sdk';
import type { Example, ExampleContext, ExampleDemoAccount, ExampleHandle } from '../../example-contract.ts';
import { ensurePermissionStore } from '../../shared/src/permission-store.ts';
import { createCallerGuard } from './caller.ts';
import { loadRoutes } from './routes.ts';
import { listen, type RunningService, type ServiceApp, type ServiceDeps } from './service-kit.ts';
import { dashboardApp } from './services/dashboard.ts';
import { createHealthMonitor, setupDashboard } from './services/health-monitor.ts';
import { partMapperApp, setupPartMapper } from './services/part-mapper.ts';
import { photoSharkApp, setupPhotoShark } from './services/photo-shark.ts';
import { realmInfoApp, setupRealmInfo } from './services/realm-info.ts';
import { setupSurvey, surveyApp } from './services/survey.ts';

export type { Example, ExampleContext, ExampleDemoAccount, ExampleHandle } from '../../example-contract.ts';

export interface PartscoderOptions {
  /** How often the dashboard probes each service's /health. Default 5000 ms. */
  healthIntervalMs?: number;
}

/** The roles the walkthrough uses beyond `admin` and `user`. */
export const PARTSCODER_ROLES = [
  { name: 'editor', description: 'Edits the PartsCoder parts catalogue' },
] as const;

/** `carol` edits parts; alice (admin) and bob (user) are the standard demo users. Development only. */
export const PARTSCODER_DEMO_ACCOUNTS: readonly ExampleDemoAccount[] = [
  { username: 'carol', password: 'carol-password', email: 'carol@example.com', roles: ['editor', 'user'] },
];

/** The public OAuth client for tools that sign a person in and call the API with a bearer token. */
export const PARTSCODER_CLI_REDIRECT = 'http://127.0.0.1:8976/callback';

const ROUTES_FILE = new URL('../routes.yaml', import.meta.url);
/** The survey rule's permission store (routes.yaml names it too). */
export const PARTSCODER_STORE = {
  name: 'partscoder',
  modelFile: new URL('../model/partscoder.fga', import.meta.url),
  seedFile: new URL('../model/partscoder-tuples.yaml', import.meta.url),
};

interface ServiceSpec {
  name: string;
  routes: string[];
  setup(deps: ServiceDeps): Promise<void>;
  app(deps: ServiceDeps): ServiceApp;
}

const BUSINESS_SERVICES: ServiceSpec[] = [
  { name: 'mw-realm-info', routes: ['/realm-info'], setup: setupRealmInfo, app: realmInfoApp },
  { name: 'mw-part-mapper', routes: ['/parts'], setup: setupPartMapper, app: partMapperApp },
  { name: 'mw-photo-shark', routes: ['/photo-guidelines'], setup: setupPhotoShark, app: photoSharkApp },
  { name: 'mw-survey', routes: ['/surveys'], setup: setupSurvey, app: surveyApp },
];

export function createPartscoderExample(options: PartscoderOptions = {}): Example & {
  roles: typeof PARTSCODER_ROLES;
  demoAccounts: readonly ExampleDemoAccount[];
} {
  return {
    name: 'partscoder',
    title: 'PartsCoder middleware',
    roles: PARTSCODER_ROLES,
    demoAccounts: PARTSCODER_DEMO_ACCOUNTS,
    clients() {
      return [
        {
          clientId: 'partscoder-cli',
          tokenEndpointAuthMethod: 'none',
          grantTypes: ['authorization_code', 'refresh_token'],
          redirectUris: [PARTSCODER_CLI_REDIRECT],
          postLogoutRedirectUris: [],
          scope: 'openid profile offline_access',
          roles: [],
          firstParty: true,
        },
      ];
    },
    async start(ctx: ExampleContext): Promise<ExampleHandle> {
      const logger = ctx.logger.child({ example: 'partscoder' });
      // Every service verifies tokens itself, locally, against the identity provider's keys.
      const verifier = createVerifier({
        issuer: ctx.issuer,
        audiences: [ctx.publicUrl],
        jwksUri: ctx.jwksUri,
      });
      // The store lives on the shared storage, where the gateway's in-process engine reads it too.
      await migrate(ctx.sql, [authzMigrations]);
      const authz = createAuthz({ sql: ctx.sql });
      const storeId = await ensurePermissionStore(authz, PARTSCODER_STORE, {
        seed: ctx.mode === 'development',
      });
      const client = createPermissionClient({ store: storeId, backend: authz, logger });
      const deps: ServiceDeps = {
        sql: ctx.sql,
        logger,
        guard: createCallerGuard(verifier, logger),
        permissions: { authz, storeId, client },
      };
      const running: RunningService[] = [];
      await setupDashboard(ctx.sql);
      const monitor = createHealthMonitor({
        sql: ctx.sql,
        logger,
        intervalMs: options.healthIntervalMs ?? 5000,
        timeoutMs: 2000,
      });
      try {
        const services = [];
        for (const spec of BUSINESS_SERVICES) {
          await spec.setup(deps);
          const service = await listen(spec.name, spec.app(deps));
          running.push(service);
          services.push({ name: spec.name, url: service.url, healthPath: '/health', routes: spec.routes });
        }
        const dashboard = await listen('mw-dashboard', dashboardApp({ ...deps, monitor }));
        running.push(dashboard);
        services.unshift({
          name: 'mw-dashboard',
          url: dashboard.url,
          healthPath: '/health',
          routes: ['/dashboard'],
          page: '/dashboard',
        });
        for (const s of services) await monitor.register(s);
        await monitor.checkNow();
        const routes = await loadRoutes(ROUTES_FILE, new Map(services.map((s) => [s.name, s.url])));
        logger.info({ services: services.map((s) => `${s.name} ${s.url}`) }, 'partscoder services started');
        return {
          services,
          routes,
          async close() {
            monitor.stop();
            await Promise.all(running.map((s) => s.close()));
            await client.close();
          },
        };
      } catch (err) {
        monitor.stop();
        await Promise.all(running.map((s) => s.close()));
        await client.close();
        throw err;
      }
    },
  };
}

export const example = createPartscoderExample();
