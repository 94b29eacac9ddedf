import { readFile } from 'node:fs/promises';
import type { RouteConfig } from '@gatehouse/gateway';
import { parse } from 'yaml';

const SERVICE_UPSTREAM = /^service:([a-z0-9-]+)$/;

/**
 * Read a `routes.yaml` (a list in the schema of `gateway.routes`) and replace each upstream written
 * `service:<name>` with that service's URL. An unknown service name is an error, not a silent
 * route to nowhere. Defaults are left to the gateway, which validates the list when it loads it.
 */
export async function loadRoutes(file: URL, services: ReadonlyMap<string, string>): Promise<RouteConfig[]> {
  const document: unknown = parse(await readFile(file, 'utf8'));
  if (!Array.isArray(document)) throw new Error(`${file.pathname}: expected a list of routes`);
  return document.map((route: { id?: unknown; upstreams?: unknown }) => {
    if (!Array.isArray(route.upstreams))
      throw new Error(`${file.pathname}: route ${String(route.id)} has no upstreams`);
    const upstreams = route.upstreams.map((upstream: unknown) => {
      const match = typeof upstream === 'string' ? SERVICE_UPSTREAM.exec(upstream) : null;
      if (!match) return upstream;
      const url = services.get(match[1]!);
      if (url === undefined)
        throw new Error(`${file.pathname}: route ${String(route.id)} names unknown ${upstream}`);
      return url;
    });
    return { ...route, upstreams } as RouteConfig;
  });
}
