import { corsConfigSchema } from '../routing/cors.ts';
import { inflightSchema, rateLimitSchema } from './route-limits.ts';
import { routePolicySchema } from './route-policy.ts';
import { circuitBreakerSchema, healthCheckSchema, upstreamTlsSchema } from './route-upstreams.ts';

/** One of `gateway.routes`: what it matches, where it forwards, what a request must pass on the way. */
export const routeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'match', 'upstreams'],
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
    match: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1, description: 'exact host name, compared without port or case' },
        methods: { type: 'array', items: { type: 'string', pattern: '^[A-Z]+$' }, minItems: 1 },
        path: { type: 'string', pattern: '^/', description: 'path prefix, matched on whole segments' },
        pattern: {
          type: 'string',
          pattern: '^/',
          description: '"/products/{id}/buy": {name} is one segment, a final "*" the rest',
        },
      },
      oneOf: [{ required: ['path'] }, { required: ['pattern'] }],
    },
    upstreams: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', format: 'uri', pattern: '^https?://' },
    },
    stripPrefix: { type: 'boolean', default: false },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 600000, default: 30000 },
    retries: { type: 'integer', minimum: 0, maximum: 5, default: 1 },
    balance: { type: 'string', enum: ['round-robin', 'least-outstanding'], default: 'round-robin' },
    browser: {
      type: 'boolean',
      description:
        'a page for people: a GET without credentials that accepts text/html is sent to sign in (gateway.bff) and back',
    },
    bffClient: {
      type: 'string',
      minLength: 1,
      description:
        'sign people in to this route as one of gateway.bff.clients (its own public client and session) instead of gateway.bff.clientId; needs browser: true',
    },
    forwardToken: {
      type: 'boolean',
      default: false,
      description:
        'pass the original Authorization header and session cookie upstream, and a verified TLS client certificate (X-Gatehouse-Client-Cert)',
    },
    assertion: {
      description:
        'send a signed X-Gatehouse-Assertion (needs gateway.assertion.enabled); true = audience is the route id',
      oneOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['audience'],
          properties: { audience: { type: 'string', minLength: 1 } },
        },
      ],
    },
    policy: routePolicySchema,
    cors: corsConfigSchema,
    stepUp: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      description:
        'how recently and how strongly the person must have signed in (RFC 9470 step-up; docs/gateway.md)',
      properties: {
        acr: {
          type: 'array',
          items: { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$' },
          minItems: 1,
          maxItems: 8,
          description: 'acr values that satisfy the route, e.g. [urn:gatehouse:acr:mfa]',
        },
        maxAge: {
          type: 'integer',
          minimum: 0,
          maximum: 31536000,
          description: "seconds since the sign-in (the token's auth_time) at most",
        },
      },
    },
    rateLimit: rateLimitSchema,
    inflight: inflightSchema,
    healthCheck: healthCheckSchema,
    tls: upstreamTlsSchema,
    circuitBreaker: circuitBreakerSchema,
  },
} as const;
