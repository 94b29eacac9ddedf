import type { RouteConfig } from '../contracts.ts';

/**
 * Route selection on the normalized path.
 * - The most specific route wins, not the first listed, so a broad route written before a narrow
 *   one cannot shadow it: routes with a host before those without; then, segment by segment, a
 *   literal before a parameter before the end of a shorter route; then config order.
 * - Prefixes match whole segments: `/products` matches `/products` and `/products/1`, not
 *   `/productsx`.
 * - Case policy: routes match case-sensitively. A path that picks a different route when compared
 *   case-insensitively (`/PRODUCTS/admin` with routes `/products/admin` and `/`) is ambiguous — an
 *   upstream that ignores case would serve the admin page under a weaker policy — and is refused
 *   with 400 GW_PATH_AMBIGUOUS. A path that picks the same route either way is served.
 */
export interface RouteMatch {
  route: RouteConfig;
  /** Values of `{name}` segments of a pattern route. */
  params: Record<string, string>;
  /** The path sent upstream: the normalized path, with the prefix stripped when the route asks. */
  upstreamPath: string;
}

export type RouteResult = { kind: 'match'; match: RouteMatch } | { kind: 'none' } | { kind: 'case-conflict' };

interface Compiled {
  route: RouteConfig;
  order: number;
  host: string | undefined;
  methods: Set<string> | undefined;
  segments: string[];
  prefix: boolean;
  /** Pattern ends with `*`: the rest of the path after the fixed segments. */
  rest: boolean;
}

export interface Router {
  readonly routes: readonly RouteConfig[];
  find(host: string | undefined, method: string, path: string): RouteResult;
}

export function createRouter(routes: readonly RouteConfig[]): Router {
  const compiled = routes.map(compile).sort(bySpecificity);
  return {
    routes,
    find(host, method, path) {
      const h = host ? hostOnly(host) : undefined;
      const parts = path.split('/').filter(Boolean);
      const exact = first(compiled, h, method, parts, false);
      const folded = first(compiled, h, method, parts, true);
      if (exact?.c !== folded?.c) return { kind: 'case-conflict' };
      if (!exact) return { kind: 'none' };
      return {
        kind: 'match',
        match: { route: exact.c.route, params: exact.params, upstreamPath: upstreamPath(exact.c, path) },
      };
    },
  };
}

function compile(route: RouteConfig, order: number): Compiled {
  const source = route.match.pattern ?? route.match.path ?? '/';
  const segments = source.split('/').filter(Boolean);
  const rest = route.match.pattern !== undefined && segments[segments.length - 1] === '*';
  if (rest) segments.pop();
  return {
    route,
    order,
    host: route.match.host?.toLowerCase(),
    methods: route.match.methods ? new Set(route.match.methods) : undefined,
    segments,
    prefix: route.match.pattern === undefined,
    rest,
  };
}

function bySpecificity(a: Compiled, b: Compiled): number {
  const byHost = Number(b.host !== undefined) - Number(a.host !== undefined);
  if (byHost !== 0) return byHost;
  // Segment by segment, as a routing trie would: a literal beats a parameter, which beats the end
  // of a shorter route. `/products/admin` outranks `/products/{id}/buy` for `/products/admin/buy`.
  for (let i = 0; i < Math.max(a.segments.length, b.segments.length); i++) {
    const diff = rank(b.segments[i]) - rank(a.segments[i]);
    if (diff !== 0) return diff;
  }
  return Number(a.prefix || a.rest) - Number(b.prefix || b.rest) || a.order - b.order;
}

function rank(segment: string | undefined): number {
  if (segment === undefined) return 0;
  return isParam(segment) ? 1 : 2;
}

function first(
  compiled: Compiled[],
  host: string | undefined,
  method: string,
  parts: readonly string[],
  fold: boolean,
): { c: Compiled; params: Record<string, string> } | undefined {
  for (const c of compiled) {
    if (c.host !== undefined && c.host !== host) continue;
    // Servers answer HEAD with their GET handler: a GET route covers HEAD, or HEAD would reach the
    // same handler through a broader route with a weaker policy.
    if (c.methods && !c.methods.has(method) && !(method === 'HEAD' && c.methods.has('GET'))) continue;
    const params = matchSegments(c, parts, fold);
    if (params) return { c, params };
  }
  return undefined;
}

function matchSegments(
  c: Compiled,
  parts: readonly string[],
  fold: boolean,
): Record<string, string> | undefined {
  if (parts.length < c.segments.length) return undefined;
  if (!c.prefix && !c.rest && parts.length !== c.segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < c.segments.length; i++) {
    const want = c.segments[i]!;
    const got = parts[i]!;
    if (isParam(want)) {
      params[want.slice(1, -1)] = got;
      continue;
    }
    if (fold ? want.toLowerCase() !== got.toLowerCase() : want !== got) return undefined;
  }
  return params;
}

function upstreamPath(c: Compiled, path: string): string {
  if (!c.route.stripPrefix || !c.prefix) return path;
  const parts = path.split('/').filter(Boolean).slice(c.segments.length);
  const stripped = '/' + parts.join('/');
  return path.endsWith('/') && parts.length > 0 ? stripped + '/' : stripped;
}

function isParam(segment: string): boolean {
  return segment.length > 2 && segment.startsWith('{') && segment.endsWith('}');
}

/**
 * `Example.com:8080` → `example.com`; `[::1]:80` → `[::1]`; `admin.example.com.` → `admin.example.com`
 * (the trailing-dot form names the same host, and must not slip past a host route).
 */
function hostOnly(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  const name = colon === -1 ? h : h.slice(0, colon);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
