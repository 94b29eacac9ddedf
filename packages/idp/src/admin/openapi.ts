import { type AdminResponse, type AdminRoute, ref, refusal } from './admin-route.ts';
import { adminAnswerSchemas, adminBodySchemas, pathParameterSchema } from './admin-schemas.ts';

/**
 * The admin API's OpenAPI 3.1 document, served at `/auth/admin/openapi.json`, written from the route
 * table (admin-routes.ts) and its schemas: the paths, parameters, bodies and answers the server
 * routes and validates by. Each answer's error codes are listed in its `x-error-codes`.
 */

/** What any operation may answer: refused input, no caller, a caller who is not an admin, no such thing. */
const commonResponses: Record<string, AdminResponse> = {
  '400': refusal(
    'Invalid input',
    'IDP_FIELD_INVALID',
    'IDP_FIELD_MISSING',
    'IDP_FIELD_UNKNOWN',
    'IDP_FIELD_TOO_LONG',
    'GH_BAD_REQUEST',
  ),
  '401': refusal('No valid bearer token', 'IDP_UNAUTHENTICATED'),
  '403': refusal(
    'The token has neither the admin role nor the admin scope; or a change made with the session cookie comes from another site or lacks X-Gatehouse-Csrf: 1',
    'IDP_FORBIDDEN',
    'IDP_CSRF_REJECTED',
  ),
  '404': refusal('Not found', 'IDP_NOT_FOUND'),
};

/** What an operation that takes a body may answer besides. */
const bodyResponses: Record<string, AdminResponse> = {
  '413': refusal('The body is larger than 64 KiB', 'GH_BODY_TOO_LARGE'),
  '415': refusal('The body is not application/json', 'GH_UNSUPPORTED_MEDIA_TYPE'),
};

const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });

function response(own: AdminResponse | undefined, common: AdminResponse | undefined) {
  // An operation's own description of a status (e.g. what its 404 means) wins over the generic one;
  // the codes are both.
  const { description, schema, codes } = { ...common, ...own } as AdminResponse;
  const allCodes = [...new Set([...(common?.codes ?? []), ...(own?.codes ?? [])])];
  return {
    description,
    ...(schema === undefined ? {} : json(schema)),
    ...(codes === undefined ? {} : { 'x-error-codes': allCodes }),
  };
}

function operation(route: AdminRoute) {
  const common = { ...commonResponses, ...(route.body ? bodyResponses : {}) };
  const statuses = [...new Set([...Object.keys(common), ...Object.keys(route.responses)])].sort();
  return {
    summary: route.summary,
    security: [{ bearer: [] }, { session: [] }],
    responses: Object.fromEntries(statuses.map((s) => [s, response(route.responses[s], common[s])])),
    ...(route.query
      ? {
          parameters: Object.entries(route.query).map(([name, schema]) => ({ name, in: 'query', schema })),
        }
      : {}),
    ...(route.body ? { requestBody: { required: true, ...json(ref(route.body)) } } : {}),
  };
}

function pathParameters(route: AdminRoute) {
  return [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => {
    const description = route.params?.[name!];
    if (!description)
      throw new Error(`admin route ${route.method} ${route.path}: {${name}} is not described`);
    return { name, in: 'path', required: true, schema: pathParameterSchema, description };
  });
}

export function adminOpenApi(serverUrl: string, routes: readonly AdminRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    const item = paths[route.path]!;
    if (!item['parameters'] && route.path.includes('{')) item['parameters'] = pathParameters(route);
    item[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse identity provider — admin API',
      version: '1',
      description:
        'Users, roles, groups, clients, sessions, signing keys and audit events. Every operation needs a bearer access token from this identity provider whose `roles` include `admin` or whose `scope` includes `admin`; the caller is re-checked on every request (its client must still exist; a client must still hold the role; a user must still exist, be enabled and hold the role). Alternatively, the first-party session cookie of a user who holds `admin` (a browser console: a change made with the cookie must come from this site and carry `X-Gatehouse-Csrf: 1`, else 403 IDP_CSRF_REJECTED). Errors are `{ "error": CODE, "message": text }`; each answer lists its codes in `x-error-codes`. A query parameter an operation does not list is refused (400 IDP_FIELD_UNKNOWN).',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        session: { type: 'apiKey', in: 'cookie', name: 'gatehouse_session' },
      },
      schemas: { ...adminBodySchemas, ...adminAnswerSchemas },
    },
    paths,
  };
}
