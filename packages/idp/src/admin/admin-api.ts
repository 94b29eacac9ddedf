import { coreErrors, sendError } from '@gatehouse/core';
import type { HttpHandler, IdpRuntime } from '../index.ts';
import { adminCaller } from './admin-caller.ts';
import { readJsonBody, readPathParams, readQuery } from './admin-input.ts';
import type { AdminRoute } from './admin-route.ts';
import { adminRoutes } from './admin-routes.ts';
import { adminOpenApi } from './openapi.ts';

export { ADMIN_CSRF_HEADER } from './admin-caller.ts';

/**
 * The admin REST API at `<issuer path>/admin/*`: the route table (admin-routes.ts) served, and its
 * OpenAPI document (openapi.ts, written from the same table) at `/auth/admin/openapi.json`. Who may
 * call it is admin-caller.ts; every path parameter, query parameter and body is read against the
 * route's schemas (admin-input.ts) before its handler runs.
 */
export function createAdminApi(idp: IdpRuntime): HttpHandler {
  const { logger, issuer } = idp;
  const mount = `${new URL(issuer).pathname.replace(/\/$/, '')}/admin`;
  const table = adminRoutes(idp);
  const openApi = JSON.stringify(adminOpenApi(`${issuer.replace(/\/$/, '')}/admin`, table));
  const authenticate = adminCaller(idp);
  const routes = table.map((route) => ({ route, ...compile(route) }));

  return async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://admin.invalid');
      if (!url.pathname.startsWith(`${mount}/`)) throw coreErrors.create('GH_NOT_FOUND');
      const path = url.pathname.slice(mount.length);
      if (path === '/openapi.json') {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: 'GET' } });
        }
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(openApi),
        });
        res.end(openApi);
        return;
      }
      const matching = routes.filter((r) => r.pattern.test(path));
      if (matching.length === 0) throw coreErrors.create('GH_NOT_FOUND');
      const found = matching.find((r) => r.route.method === req.method);
      if (!found) {
        throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, {
          headers: { allow: matching.map((r) => r.route.method).join(', ') },
        });
      }
      const { route } = found;
      const caller = await authenticate(req);
      const params = readPathParams(found.keys, found.pattern.exec(path)!.slice(1));
      const query = readQuery(route, url.searchParams);
      const body = route.body ? await readJsonBody(req, route.body) : undefined;
      await route.run({ req, res, params, query, body, caller });
    } catch (err) {
      if (!req.complete) req.resume();
      const status = (err as { status?: number }).status;
      if (typeof status === 'number' && status < 500) {
        logger.info({ code: (err as { code?: string }).code, method: req.method }, 'admin request refused');
      } else {
        logger.error({ err }, 'admin request failed');
      }
      sendError(res, err);
    }
  };
}

/** The route's path template as a pattern, and the names of its `{name}` parts in order. */
function compile(route: AdminRoute): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = route.path.replace(/\{(\w+)\}/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), keys };
}
