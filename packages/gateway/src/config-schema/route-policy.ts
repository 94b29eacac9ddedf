import { stringList } from './string-list.ts';

/** Who may use a route: `public`, `authenticated`, `internal`, roles, scopes or a permission. */
export const routePolicySchema = {
  description: 'who may use the route',
  default: 'authenticated',
  oneOf: [
    { type: 'string', enum: ['public', 'authenticated', 'internal'] },
    {
      type: 'object',
      additionalProperties: false,
      required: ['roles'],
      properties: { roles: { ...stringList, minItems: 1 } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['scopes'],
      properties: { scopes: { ...stringList, minItems: 1 } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['permission'],
      properties: {
        permission: {
          type: 'object',
          additionalProperties: false,
          required: ['relation', 'object'],
          properties: {
            relation: { type: 'string', minLength: 1 },
            object: {
              type: 'string',
              minLength: 1,
              description: 'e.g. "product:{id}"; {name} is taken from the route pattern',
            },
            store: {
              type: 'string',
              minLength: 1,
              description: 'the authz store (id or name); default gateway.authz.store',
            },
            subject: {
              type: 'object',
              additionalProperties: false,
              description:
                'the caller as a permission user; {claim} from the token. Default user:{sub} and client:{client_id}',
              properties: {
                user: { type: 'string', pattern: '^[^:#\\s]+:[^#\\s]+$' },
                service: { type: 'string', pattern: '^[^:#\\s]+:[^#\\s]+$' },
              },
            },
            context: {
              type: 'object',
              description:
                'condition parameters from the request: request.time, request.ip, request.method or token.<claim>',
              propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
              additionalProperties: {
                type: 'string',
                pattern: '^(request\\.(time|ip|method)|token\\.[A-Za-z0-9_]+)$',
              },
            },
          },
        },
      },
    },
  ],
} as const;
