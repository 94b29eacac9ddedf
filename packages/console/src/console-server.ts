import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError, type Logger, readFields } from '@gatehouse/core';
import { decodeJwt } from 'jose';
import { adminClientFor } from './admin-client.ts';
import { createCsrf } from './csrf.ts';
import { consoleErrors } from './errors.ts';
import { createMetricsSampler } from './gateway/metrics-sampler.ts';
import { messagePage, type PageContext } from './layout.ts';
import { auditRoutes } from './pages/audit.ts';
import { clientRoutes } from './pages/clients.ts';
import { type GatewayRouteView, gatewayRoutes } from './pages/gateway.ts';
import { groupRoutes } from './pages/groups.ts';
import { identityRoutes } from './pages/identity.ts';
import { keyRoutes } from './pages/keys.ts';
import { permissionRoutes } from './pages/permissions.ts';
import { roleRoutes } from './pages/roles.ts';
import { userRoutes } from './pages/users.ts';
import type { ConsoleResult, ConsoleRoute } from './route.ts';
import { setSecurityHeaders } from './security-headers.ts';

export interface ConsoleOptions {
  /** The admin API as this process reaches it, e.g. `http://127.0.0.1:4000/auth/admin`. */
  adminApiUrl: string;
  /** The site's origin as browsers see it (form posts must come from it). */
  publicUrl: string;
  /** Where the console is mounted behind the gateway. Default `/admin`. */
  base?: string;
  /** The gateway's browser-session logout (POST). Default `/_gatehouse/bff/logout`. */
  logoutPath?: string;
  logger: Logger;
  /**
   * The permission service's OpenFGA API as this process reaches it, e.g. `http://127.0.0.1:4100`.
   * The service must accept administrators' tokens (`authz.auth.admins`); without it the permissions
   * pages say the service is not connected.
   */
  authzUrl?: string | undefined;
  /**
   * The gateway the console sits behind: its Prometheus endpoint (`/_gatehouse/metrics`, answered to
   * loopback and trusted proxies) and its routes now. Without it the gateway page says so.
   */
  gateway?: { metricsUrl: () => string | undefined; routes: () => GatewayRouteView[] };
}

export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const ASSETS: Record<string, { type: string; body: Buffer }> = {
  '/assets/console.css': {
    type: 'text/css; charset=utf-8',
    body: readFileSync(new URL('./assets/console.css', import.meta.url)),
  },
  '/assets/live-charts.js': {
    type: 'text/javascript; charset=utf-8',
    body: readFileSync(new URL('./assets/live-charts.js', import.meta.url)),
  },
};

function compile(path: string): RegExp {
  return new RegExp(`^${path.replace(/\./g, '\\.').replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
}

/**
 * The admin console: server-rendered pages over the admin API. It sits behind the gateway on a route
 * marked `browser: true` with `forwardToken: true` and `bffClient: gatehouse-console`: the gateway
 * signs the person in as the console's own public client (browser session, code + PKCE) and hands the
 * console their access token, which the console uses for every admin API call. It holds no state and
 * no credential of its own; it refuses a token without the `admin` role, and the admin API decides
 * again what the person may do.
 */
export function createConsole(options: ConsoleOptions): ConsoleHandler {
  const base = (options.base ?? '/admin').replace(/\/$/, '');
  const logoutPath = options.logoutPath ?? '/_gatehouse/bff/logout';
  const publicOrigin = new URL(options.publicUrl).origin;
  const csrf = createCsrf(publicOrigin);
  const logger = options.logger.child({ component: 'console' });
  const gateway = options.gateway
    ? {
        routes: options.gateway.routes,
        sampler: createMetricsSampler({ url: options.gateway.metricsUrl, logger }),
      }
    : undefined;
  /** Every console page, by method and path: the whole console at a glance. */
  const ROUTES: ConsoleRoute[] = [
    ...userRoutes,
    ...groupRoutes,
    ...clientRoutes,
    ...roleRoutes,
    ...identityRoutes,
    ...gatewayRoutes(gateway),
    ...keyRoutes,
    ...auditRoutes,
    ...permissionRoutes,
  ];
  const routes = ROUTES.map((r) => ({ ...r, pattern: compile(r.path) }));

  function send(res: ServerResponse, result: ConsoleResult): void {
    if ('redirect' in result) {
      res.writeHead(303, { location: result.redirect });
      res.end();
    } else if ('download' in result) {
      res.writeHead(200, {
        'content-type': result.type,
        'content-disposition': `attachment; filename="${result.filename}"`,
      });
      res.end(result.download);
    } else if ('fragment' in result) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(result.fragment);
    } else {
      res.writeHead(result.status ?? 200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(result.html);
    }
  }

  return async (req, res) => {
    setSecurityHeaders(res);
    // Who the forwarded token names, once read: a refusal page says who is signed in.
    let signedIn: string | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://console.invalid');
      if (url.pathname !== base && !url.pathname.startsWith(`${base}/`))
        throw consoleErrors.create('CONSOLE_NOT_FOUND');
      const path = url.pathname.slice(base.length) || '/';
      if (path === '/' && req.method === 'GET') return send(res, { redirect: `${base}/users` });
      const asset = ASSETS[path];
      if (asset) {
        res.writeHead(200, { 'content-type': asset.type });
        res.end(asset.body);
        return;
      }
      const authorization = req.headers.authorization ?? '';
      const token = authorization.startsWith('Bearer ') ? authorization.slice(7) : undefined;
      if (!token) throw consoleErrors.create('CONSOLE_SIGN_IN_REQUIRED');
      // The gateway verified this token before forwarding it; the console reads only who it names
      // and the admin API verifies it again on every call.
      const claims = decodeJwt(token);
      signedIn = String(claims['preferred_username'] ?? claims['username'] ?? claims.sub ?? 'unknown');
      // Only people with the admin role use the console: anyone else gets this page before any
      // admin API call (which would refuse them as well).
      const roles = Array.isArray(claims['roles']) ? claims['roles'] : [];
      if (!roles.includes('admin')) throw consoleErrors.create('CONSOLE_ADMIN_REQUIRED');
      const binding = `${claims.sub ?? ''}.${String(claims['sid'] ?? '')}`;
      const page: PageContext = {
        base,
        who: signedIn,
        csrfToken: csrf.tokenFor(binding),
        logoutPath,
      };
      let params: Record<string, string> | undefined;
      const route = routes.find((r) => {
        const m = r.pattern.exec(path);
        if (m)
          params = Object.fromEntries(
            Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]),
          );
        return m !== null;
      });
      if (!route || !params) throw consoleErrors.create('CONSOLE_NOT_FOUND');
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const sameRoute = routes.filter((r) => r.pattern.test(path));
      const chosen = sameRoute.find((r) => r.method === method);
      if (!chosen) {
        throw consoleErrors.create('CONSOLE_METHOD_NOT_ALLOWED', undefined, {
          headers: { allow: sameRoute.map((r) => r.method).join(', ') },
        });
      }
      let fields: Record<string, string> = {};
      if (method === 'POST') {
        fields = await readFields(req, 32 * 1024);
        csrf.check(req, binding, fields['csrf']);
        delete fields['csrf'];
      }
      const forwardedFor =
        typeof req.headers['x-forwarded-for'] === 'string' ? req.headers['x-forwarded-for'] : undefined;
      const admin = adminClientFor(options.adminApiUrl, token, forwardedFor);
      const authz = options.authzUrl ? adminClientFor(options.authzUrl, token, forwardedFor) : undefined;
      const result = await chosen.run({ req, page, admin, authz, params, query: url.searchParams, fields });
      // Which admin API calls drew this answer (the benchmark reads it; so can an operator).
      const { calls, ms } = admin.made;
      res.setHeader(
        'server-timing',
        `admin;dur=${ms.toFixed(1)};desc="${calls.length} admin API call${calls.length === 1 ? '' : 's'}: ${calls.join(', ').replace(/["\\]/g, '')}"`,
      );
      send(res, result);
    } catch (err) {
      const known = err instanceof GatehouseError ? err : undefined;
      if (!known) logger.error({ err }, 'console page failed');
      else logger.info({ code: known.code, status: known.status }, 'console request refused');
      const status = known?.status ?? 500;
      const code = known?.code ?? 'CONSOLE_INTERNAL';
      const title =
        status === 403
          ? 'Not allowed'
          : status === 404
            ? 'Not found'
            : status >= 500
              ? 'Something went wrong'
              : 'Cannot do that';
      if (res.headersSent) return void res.destroy();
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...(known?.headers ?? {}) });
      const signOut =
        code === 'CONSOLE_ADMIN_REQUIRED' && signedIn !== undefined
          ? { who: signedIn, logoutPath }
          : undefined;
      res.end(
        messagePage(base, title, code, known?.message ?? 'The console could not show this page.', signOut),
      );
    }
  };
}
