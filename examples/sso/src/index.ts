import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IdpClientConfig } from '@gatehouse/idp';
import { createVerifier } from '@gatehouse/sdk';
import { getRequestListener } from '@hono/node-server';
import type { Example, ExampleContext, ExampleHandle } from '../../example-contract.ts';
import { createRelyingParty, type RelyingParty } from './relying-party.ts';

export type { Example, ExampleContext, ExampleHandle } from '../../example-contract.ts';

/**
 * Single sign-on across two web applications on their own ports, both confidential relying parties
 * of the identity provider: sign in on one, open the other and you are in; sign out of one and the
 * provider ends the session in both (back-channel logout).
 */
export interface SsoExampleOptions {
  /** Interface the apps listen on (default 127.0.0.1) and the host name in their URLs. */
  host?: string;
  /** Default 8081 and 8082, or GATEHOUSE_SSO_APP1_PORT / GATEHOUSE_SSO_APP2_PORT. */
  ports?: [number, number];
  /**
   * Servers already listening, used instead of `host`/`ports`: their addresses are known before
   * `clients()` has to name the redirect URIs (tests bind them to port 0).
   */
  servers?: [Server, Server];
  /** Client secrets; the development defaults are refused in production mode. */
  clientSecrets?: [string, string];
}

const DEV_SECRETS: [string, string] = ['sso-app-1-development-secret', 'sso-app-2-development-secret'];
const APPS = [
  { clientId: 'sso-app-1', title: 'SSO App 1' },
  { clientId: 'sso-app-2', title: 'SSO App 2' },
] as const;

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number`);
  return port;
}

export function createSsoExample(options: SsoExampleOptions = {}): Example & {
  /** The apps' sessions, once started (tests look at them). */
  readonly apps: RelyingParty[];
} {
  const host = options.host ?? '127.0.0.1';
  const ports = options.ports ?? [
    portFromEnv('GATEHOUSE_SSO_APP1_PORT', 8081),
    portFromEnv('GATEHOUSE_SSO_APP2_PORT', 8082),
  ];
  const secrets = options.clientSecrets ?? DEV_SECRETS;
  const apps: RelyingParty[] = [];

  const origins = (): [string, string] => {
    const urlHost = host.includes(':') ? `[${host}]` : host;
    const origin = (i: 0 | 1) => {
      const server = options.servers?.[i];
      const port = server ? (server.address() as AddressInfo | null)?.port : ports[i];
      if (port === undefined || port === 0)
        throw new Error('sso example: a server given in `servers` must be listening');
      return `http://${urlHost}:${port}`;
    };
    return [origin(0), origin(1)];
  };

  return {
    name: 'sso',
    title: 'Single sign-on across two web applications',
    apps,
    clients(): IdpClientConfig[] {
      const urls = origins();
      return APPS.map((a, i) => ({
        clientId: a.clientId,
        clientSecret: secrets[i]!,
        tokenEndpointAuthMethod: 'client_secret_basic',
        grantTypes: ['authorization_code'],
        redirectUris: [`${urls[i]}/callback`],
        postLogoutRedirectUris: [`${urls[i]}/signed-out`],
        backchannelLogoutUri: `${urls[i]}/backchannel-logout`,
        scope: 'openid profile',
        roles: [],
        firstParty: true,
      }));
    },
    async start(ctx: ExampleContext): Promise<ExampleHandle> {
      if (ctx.mode === 'production' && !options.clientSecrets) {
        throw new Error('sso example: set clientSecrets; the development secrets are public');
      }
      const logger = ctx.logger.child({ example: 'sso' });
      const urls = origins();
      const verifier = createVerifier({
        issuer: ctx.issuer,
        audiences: [ctx.publicUrl],
        jwksUri: ctx.jwksUri,
      });
      const servers: Server[] = [];
      const owned: Server[] = [];
      try {
        for (const i of [0, 1] as const) {
          const rp = createRelyingParty({
            clientId: APPS[i].clientId,
            clientSecret: secrets[i],
            title: APPS[i].title,
            origin: urls[i],
            peer: { title: APPS[1 - i]!.title, origin: urls[1 - i]! },
            issuer: ctx.issuer,
            jwksUri: ctx.jwksUri,
            verifier,
            logger,
          });
          apps.push(rp);
          const listener = getRequestListener(rp.app.fetch);
          let server = options.servers?.[i];
          if (server) {
            server.on('request', listener);
          } else {
            server = createServer(listener);
            owned.push(server);
            await new Promise<void>((resolve, reject) => {
              server!.once('error', reject);
              server!.listen(ports[i], host, () => resolve());
            });
          }
          servers.push(server);
        }
      } catch (err) {
        await Promise.all(owned.map((s) => new Promise((resolve) => s.close(resolve))));
        throw err;
      }
      logger.info({ apps: urls }, 'sso apps started');
      return {
        services: APPS.map((a, i) => ({
          name: a.clientId,
          url: urls[i]!,
          healthPath: '/health',
          routes: [],
          page: `${urls[i]!}/`,
        })),
        // The apps are reached on their own ports, not through the gateway: no gateway routes.
        routes: [],
        async close() {
          await Promise.all(
            servers.map(
              (s) =>
                new Promise<void>((resolve) => {
                  if (!s.listening) return resolve();
                  s.close(() => resolve());
                  s.closeAllConnections();
                }),
            ),
          );
        },
      };
    },
  };
}

export const example = createSsoExample();
