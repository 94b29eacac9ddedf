import type { Server } from 'node:http';
import { createServiceClient, createVerifier } from '@gatehouse/sdk';
import type { Example, ExampleContext, ExampleHandle, ExampleService } from '../../example-contract.ts';
import { closeServer, listen } from '../../shared/src/listen.ts';
import { loadRoutesFile } from '../../shared/src/routes-file.ts';
import { DEV_SERVICE_A_CLIENT_SECRET, SERVICE_A_CLIENT_ID, SERVICE_B_AUDIENCE } from './identities.ts';
import { createServiceA } from './service-a.ts';
import { createServiceB } from './service-b.ts';

export { SERVICE_A_CLIENT_ID, SERVICE_B_AUDIENCE } from './identities.ts';

export interface ServiceToServiceOptions {
  /** Service A's client secret. Default `S2S_SERVICE_A_CLIENT_SECRET`, else (development only) a public one. */
  serviceAClientSecret?: string;
  /**
   * Service A's retry backoff after a failed token request. Default 250 ms doubling to 2 s, so that it
   * notices a returning identity provider within about two seconds.
   */
  backoff?: { initialMs: number; maxMs: number };
}

const ROUTES_FILE = new URL('../routes.yaml', import.meta.url);

function secretOf(options: ServiceToServiceOptions): string {
  return (
    options.serviceAClientSecret ?? process.env['S2S_SERVICE_A_CLIENT_SECRET'] ?? DEV_SERVICE_A_CLIENT_SECRET
  );
}

export function createServiceToServiceExample(options: ServiceToServiceOptions = {}): Example {
  return {
    name: 'service-to-service',
    title: 'Service-to-service authentication with cached tokens',
    clients: () => [
      {
        clientId: SERVICE_A_CLIENT_ID,
        clientSecret: secretOf(options),
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        postLogoutRedirectUris: [],
        scope: '',
        roles: ['service'],
        firstParty: true,
      },
    ],
    resources: () => [SERVICE_B_AUDIENCE],
    start: (ctx) => startServices(ctx, options),
  };
}

/** What `gatehouse dev` imports. */
export const example: Example = createServiceToServiceExample();

async function startServices(ctx: ExampleContext, options: ServiceToServiceOptions): Promise<ExampleHandle> {
  const secret = secretOf(options);
  if (ctx.mode === 'production' && secret === DEV_SERVICE_A_CLIENT_SECRET) {
    throw new Error('service-to-service: set S2S_SERVICE_A_CLIENT_SECRET; the development secret is public');
  }
  const servers: Server[] = [];
  const services: ExampleService[] = [];
  const close = async () => {
    await Promise.all(servers.map(closeServer));
  };
  try {
    const b = createServiceB({
      verifier: createVerifier({ issuer: ctx.issuer, audiences: [SERVICE_B_AUDIENCE], jwksUri: ctx.jwksUri }),
      logger: ctx.logger.child({ service: 's2s-service-b' }),
    });
    servers.push(b);
    const bUrl = await listen(b);
    services.push({ name: 's2s-service-b', url: bUrl, healthPath: '/health', routes: [] });

    const a = createServiceA({
      serviceBUrl: bUrl,
      tokens: createServiceClient({
        tokenEndpoint: ctx.tokenEndpoint,
        clientId: SERVICE_A_CLIENT_ID,
        credentials: { clientSecret: secret },
        backoff: options.backoff ?? { initialMs: 250, maxMs: 2000 },
      }),
      logger: ctx.logger.child({ service: 's2s-service-a' }),
    });
    servers.push(a);
    const aUrl = await listen(a);
    services.push({ name: 's2s-service-a', url: aUrl, healthPath: '/health', routes: ['/s2s/call-b'] });

    const routes = await loadRoutesFile(ROUTES_FILE, { services: { 'service-a': [aUrl] }, limits: true });
    return { services, routes, close };
  } catch (err) {
    await close();
    throw err;
  }
}
