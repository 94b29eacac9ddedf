/** `gateway.decision`: the HTTP decision endpoint asked for permission policies without `gateway.authz`. */
export const decisionSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    url: {
      type: 'string',
      format: 'uri',
      description: 'POST { subject, relation, object } → { allowed }',
    },
    cacheTtlMs: { type: 'integer', minimum: 0, maximum: 300000, default: 5000 },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 60000, default: 1000 },
  },
} as const;

/** `gateway.authz`: the permission engine behind permission policies, its decision cache and feed. */
export const gatewayAuthzSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'the permission engine for permission policies: the authz service over HTTP (url), or in-process on the shared storage',
  properties: {
    store: {
      type: 'string',
      minLength: 1,
      description: 'default store (id or name) of permission policies',
    },
    url: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://',
      description: "the authz service's OpenFGA API; absent: the engine runs in the gateway",
    },
    serviceToken: {
      type: 'object',
      additionalProperties: false,
      required: ['clientId', 'clientSecret'],
      description: 'client credentials for the token sent to the authz service',
      properties: {
        tokenEndpoint: {
          type: 'string',
          format: 'uri',
          description: 'default from the issuer discovery',
        },
        issuer: { type: 'string', format: 'uri', description: 'default auth.issuer' },
        clientId: { type: 'string', minLength: 1 },
        clientSecret: { type: 'string', minLength: 16 },
        audience: { type: 'string', minLength: 1 },
        scope: { type: 'string', minLength: 1 },
      },
    },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 60000, default: 1000 },
    cache: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        maxEntries: { type: 'integer', minimum: 1, maximum: 10000000, default: 100000 },
        ttlMs: { type: 'integer', minimum: 1, maximum: 3600000, default: 10000 },
      },
    },
    watch: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'how the change feed that keeps the decision cache correct is read',
      properties: {
        intervalMs: { type: 'integer', minimum: 10, maximum: 60000, default: 250 },
        staleAfterMs: {
          type: 'integer',
          minimum: 20,
          maximum: 600000,
          default: 1000,
          description: 'cached decisions are not used when the feed was last read longer ago',
        },
      },
    },
  },
} as const;
