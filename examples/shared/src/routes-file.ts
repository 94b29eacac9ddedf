import { readFile } from 'node:fs/promises';
import type { RouteConfig } from '@gatehouse/gateway';
import { parse } from 'yaml';

const SERVICE_UPSTREAM = /^service:([a-z][a-z0-9-]*)$/;

export interface RoutesFileOptions {
  /** Replica URLs of each service, by name: `service:<name>` becomes these. */
  services: Record<string, string[]>;
  /** false drops every `rateLimit` and `inflight` block (benchmarks run without limits). */
  limits: boolean;
}

/**
 * Read an example's `routes.yaml` (a list in the schema of `gateway.routes`) and resolve each
 * `service:<name>` upstream to that service's replicas. The gateway validates the result against its
 * schema when it loads it; here only what this file adds is checked: an unknown service name is an
 * error, not a route without upstreams.
 */
export async function loadRoutesFile(file: URL, options: RoutesFileOptions): Promise<RouteConfig[]> {
  const doc: unknown = parse(await readFile(file, 'utf8'));
  if (!Array.isArray(doc)) throw new Error(`${file.pathname}: expected a list of routes`);
  return doc.map((entry: unknown, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new Error(`${file.pathname}: route ${i} is not a mapping`);
    }
    const route = { ...(entry as Record<string, unknown>) };
    const upstreams = route['upstreams'];
    if (!Array.isArray(upstreams)) throw new Error(`${file.pathname}: route ${i} has no upstreams list`);
    route['upstreams'] = upstreams.flatMap((u: unknown) => {
      const m = typeof u === 'string' ? SERVICE_UPSTREAM.exec(u) : null;
      if (!m) return [u];
      const urls = options.services[m[1]!];
      if (!urls || urls.length === 0) throw new Error(`${file.pathname}: route ${i} names unknown ${u}`);
      return urls;
    });
    if (!options.limits) {
      delete route['rateLimit'];
      delete route['inflight'];
    }
    // Validated by the gateway's schema (defaults filled in) when the gateway loads the routes.
    return route as unknown as RouteConfig;
  });
}
