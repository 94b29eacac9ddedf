import type { IncomingHttpHeaders } from 'node:http';
import type { FromSchema } from 'json-schema-to-ts';
import { gatewayErrors } from '../errors.ts';

/**
 * A route's CORS policy (the Fetch standard's CORS protocol), for browser apps served from another
 * origin:
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered by the
 *   gateway, before authentication: a browser never sends credentials with it. An origin, method or
 *   header the route does not allow is refused with 403 GW_CORS_REFUSED (the browser then blocks
 *   the real request).
 * - Any other request from an allowed origin gets `Access-Control-Allow-Origin` (and
 *   `-Credentials`, `-Expose-Headers`) on its answer, errors included, so the app can read a 401.
 *   A request from another origin gets no CORS header: the browser keeps the answer from the page.
 * - `*` allows any origin, and is refused with `credentials: true` (at configuration time):
 *   reflecting every origin with credentials would let any site act as the signed-in user.
 */
export const corsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['origins'],
  description:
    'let browser apps on other origins call the route (CORS); preflights are answered before authentication',
  properties: {
    origins: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', pattern: '^(\\*|https?://[^/?#\\s*]+)$' },
      description: 'allowed origins, exactly as browsers send them ("https://app.example.com"), or "*"',
    },
    methods: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', pattern: '^[A-Z]{1,16}$' },
      default: ['GET', 'HEAD', 'POST'],
    },
    headers: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
      default: ['authorization', 'content-type'],
      description: 'request headers a page may send',
    },
    exposeHeaders: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
      default: [],
      description: 'answer headers a page may read beyond the CORS-safelisted ones',
    },
    credentials: {
      type: 'boolean',
      default: false,
      description: 'let the browser send cookies (Access-Control-Allow-Credentials); not with "*"',
    },
    maxAgeSec: {
      type: 'integer',
      minimum: 0,
      maximum: 86400,
      default: 600,
      description: 'how long a browser may cache a preflight answer',
    },
  },
} as const;

/** A route's `cors` setting after validation (defaults filled in). */
export type CorsConfig = FromSchema<typeof corsConfigSchema>;

/** A configuration problem with a route's policy, or undefined. */
export function corsConfigProblem(routeId: string, cors: CorsConfig): string | undefined {
  if (cors.credentials && cors.origins.includes('*')) {
    return `gateway.routes: route ${routeId} allows any origin ("*") with credentials: list the origins instead`;
  }
  return undefined;
}

export function isPreflight(method: string, headers: IncomingHttpHeaders): boolean {
  return (
    method === 'OPTIONS' &&
    typeof headers.origin === 'string' &&
    typeof headers['access-control-request-method'] === 'string'
  );
}

function originAllowed(cors: CorsConfig, origin: string): boolean {
  return cors.origins.includes('*') || cors.origins.includes(origin);
}

/** `*` only when any origin is allowed without credentials; otherwise the request's own origin. */
function allowOrigin(cors: CorsConfig, origin: string): Record<string, string> {
  const anyOrigin = cors.origins.includes('*') && !cors.credentials;
  const headers: Record<string, string> = { 'access-control-allow-origin': anyOrigin ? '*' : origin };
  if (!anyOrigin) headers['vary'] = 'Origin';
  if (cors.credentials) headers['access-control-allow-credentials'] = 'true';
  return headers;
}

/** The answer to a preflight: 204 with the allowed method and headers, or 403 GW_CORS_REFUSED. */
export function preflightAnswer(cors: CorsConfig, headers: IncomingHttpHeaders): Record<string, string> {
  const origin = headers.origin as string;
  if (!originAllowed(cors, origin)) {
    throw gatewayErrors.create('GW_CORS_REFUSED', 'This origin may not call this route');
  }
  const method = headers['access-control-request-method'] as string;
  if (!cors.methods.includes(method)) {
    throw gatewayErrors.create('GW_CORS_REFUSED', 'This method may not be used from another origin');
  }
  const asked = String(headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const allowed = new Set(cors.headers.map((h) => h.toLowerCase()));
  const refused = asked.find((h) => !allowed.has(h));
  if (refused !== undefined) {
    throw gatewayErrors.create('GW_CORS_REFUSED', 'A request header may not be sent from another origin');
  }
  return {
    ...allowOrigin(cors, origin),
    // A cached preflight must not answer for another origin or another request shape.
    vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'access-control-allow-methods': cors.methods.join(', '),
    'access-control-allow-headers': cors.headers.join(', '),
    'access-control-max-age': String(cors.maxAgeSec),
  };
}

/** CORS headers for the answer to a request from `origin`, or undefined when it gets none. */
export function corsAnswerHeaders(
  cors: CorsConfig | undefined,
  origin: string | undefined,
): Record<string, string> | undefined {
  if (!cors || origin === undefined || !originAllowed(cors, origin)) return undefined;
  const headers = allowOrigin(cors, origin);
  if (cors.exposeHeaders.length > 0) headers['access-control-expose-headers'] = cors.exposeHeaders.join(', ');
  return headers;
}
