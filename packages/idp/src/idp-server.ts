import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  coreErrors,
  type HealthState,
  handleHealth,
  type Logger,
  REVOCATIONS_FEED_PATH,
  sendError,
} from '@gatehouse/core';
import type Provider from 'oidc-provider';

/**
 * The identity provider's HTTP handler. It sits behind the gateway on the gateway's origin, so
 * paths arrive unchanged:
 *
 * | path                   | goes to                                        |
 * | ---------------------- | ---------------------------------------------- |
 * | `/auth/interaction/*`  | the login and consent pages (interactions.ts)  |
 * | `/auth/admin/*`        | the admin API (when present)                   |
 * | `/auth`, `/auth/*`     | oidc-provider, mounted at the issuer's path    |
 * | `/authentication/*`    | the first-party session API (when present)     |
 * | `/account`, `/account/*` | the account page (account/account-page.ts, when present) |
 * | `/health/live`, `/health/ready` | probes (the gateway does not route them) |
 * | `/_gatehouse/revocations` | the durable revocation feed (revocation-feed.ts; never routed by a gateway) |
 * | anything else          | 404 GH_NOT_FOUND                               |
 */

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface IdpServerOptions {
  issuer: string;
  /** The current provider (it is rebuilt when the signing keys change). */
  provider: () => Provider;
  logger: Logger;
  interactions?: HttpHandler | undefined;
  sessionApi?: HttpHandler | undefined;
  accountPage?: HttpHandler | undefined;
  adminApi?: HttpHandler | undefined;
  revocationFeed?: HttpHandler | undefined;
  /** Readiness checks (storage, state) and whether the process is draining. */
  health?: HealthState;
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

export function createIdpServer(options: IdpServerOptions): HttpHandler {
  const issuerUrl = new URL(options.issuer);
  const mount = issuerUrl.pathname.replace(/\/$/, '');
  const forwardedProto = issuerUrl.protocol.slice(0, -1);
  const { logger } = options;
  let callback: { provider: Provider; fn: ReturnType<Provider['callback']> } | undefined;

  function providerCallback() {
    const provider = options.provider();
    if (callback?.provider !== provider) callback = { provider, fn: provider.callback() };
    return callback.fn;
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (options.interactions && under(path, `${mount}/interaction`)) return options.interactions(req, res);
    if (options.adminApi && under(path, `${mount}/admin`)) return options.adminApi(req, res);
    if (options.sessionApi && under(path, '/authentication')) return options.sessionApi(req, res);
    if (options.accountPage && under(path, '/account')) return options.accountPage(req, res);
    if (options.revocationFeed && path === REVOCATIONS_FEED_PATH) return options.revocationFeed(req, res);
    if (options.health && handleHealth(req, res, path, options.health)) return;
    if (under(path, mount)) {
      // The issuer is fixed: whatever Host or X-Forwarded-* a request carries, oidc-provider builds
      // its URLs (discovery, redirects, cookies' security) from the issuer's origin.
      req.headers['x-forwarded-host'] = issuerUrl.host;
      req.headers['x-forwarded-proto'] = forwardedProto;
      // Mount like express does: oidc-provider reads the prefix from originalUrl.
      (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
      req.url = url.slice(mount.length) || '/';
      return providerCallback()(req, res);
    }
    sendError(res, coreErrors.create('GH_NOT_FOUND'));
  }

  return (req, res) => {
    dispatch(req, res).catch((err: unknown) => {
      logger.error({ err, path: (req.url ?? '').split('?')[0] }, 'identity provider request failed');
      sendError(res, err);
    });
  };
}
