import type { FromSchema } from 'json-schema-to-ts';
import { corsConfigSchema } from './routing/cors.ts';

const limitKey = {
  description: 'what a limit is counted per: client address, user (sub), client id, or a request header',
  oneOf: [
    { type: 'string', enum: ['ip', 'user', 'client'] },
    {
      type: 'object',
      additionalProperties: false,
      required: ['header'],
      properties: { header: { type: 'string', pattern: '^[A-Za-z0-9-]+$' } },
    },
  ],
} as const;

const stringList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;

const policy = {
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

const route = {
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
    policy,
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
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      required: ['average', 'period', 'burst'],
      properties: {
        average: { type: 'number', exclusiveMinimum: 0 },
        period: {
          oneOf: [
            { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$' },
            { type: 'integer', minimum: 1 },
          ],
        },
        burst: { type: 'integer', minimum: 1 },
        key: { ...limitKey, default: 'ip' },
      },
    },
    inflight: {
      type: 'object',
      additionalProperties: false,
      required: ['max'],
      properties: { max: { type: 'integer', minimum: 1 }, key: { ...limitKey, default: 'ip' } },
    },
    healthCheck: {
      type: 'object',
      additionalProperties: false,
      properties: {
        path: { type: 'string', pattern: '^/', default: '/health' },
        intervalMs: { type: 'integer', minimum: 100, default: 5000 },
        timeoutMs: { type: 'integer', minimum: 10, default: 2000 },
        unhealthyThreshold: { type: 'integer', minimum: 1, default: 2 },
        healthyThreshold: { type: 'integer', minimum: 1, default: 1 },
        expect: {
          type: 'string',
          enum: ['success', 'answer'],
          default: 'success',
          description: 'success: a 2xx passes; answer: any answer below 500 passes (the replica is up)',
        },
      },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      description: 'TLS to https upstreams: a private CA, and a client certificate for mTLS',
      properties: {
        caFile: { type: 'string', minLength: 1 },
        certFile: { type: 'string', minLength: 1 },
        keyFile: { type: 'string', minLength: 1 },
        servername: { type: 'string', minLength: 1 },
      },
      dependentRequired: { certFile: ['keyFile'], keyFile: ['certFile'] },
    },
    circuitBreaker: {
      type: 'object',
      additionalProperties: false,
      properties: {
        failureThreshold: { type: 'integer', minimum: 1, default: 5 },
        openMs: { type: 'integer', minimum: 100, default: 10000 },
      },
    },
  },
} as const;

/** The `gateway` section of the configuration file. */
export const gatewayConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    port: {
      type: 'integer',
      minimum: 0,
      maximum: 65535,
      description: 'overrides server.port for the gateway',
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['certFile', 'keyFile'],
      description: 'serve HTTPS instead of HTTP',
      properties: {
        certFile: { type: 'string', minLength: 1 },
        keyFile: { type: 'string', minLength: 1 },
        clientCaFile: { type: 'string', minLength: 1, description: 'ask for and verify client certificates' },
        clientCertificate: {
          type: 'string',
          enum: ['required', 'optional'],
          default: 'required',
          description:
            'with clientCaFile: refuse the handshake without a valid certificate, or accept it and let a certificate-bound token fail with 401',
        },
        minVersion: { type: 'string', enum: ['TLSv1.2', 'TLSv1.3'], default: 'TLSv1.2' },
        hsts: {
          type: 'object',
          additionalProperties: false,
          required: ['maxAgeSec'],
          properties: {
            maxAgeSec: { type: 'integer', minimum: 0 },
            includeSubDomains: { type: 'boolean', default: false },
            preload: { type: 'boolean', default: false },
          },
        },
      },
    },
    trustedProxies: {
      type: 'array',
      items: { type: 'string', pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$' },
      default: [],
      description: 'peers (CIDRs) whose X-Forwarded-*, traceparent and X-Request-Id are believed',
    },
    trustedProxyDepth: {
      type: 'integer',
      minimum: 1,
      maximum: 10,
      default: 1,
      description: 'how many trusted hops of X-Forwarded-For to walk back to find the client',
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        issuer: { type: 'string', format: 'uri', description: 'exact iss; default server.publicUrl + /auth' },
        audiences: { ...stringList, description: 'accepted aud values; default [server.publicUrl]' },
        jwksUri: { type: 'string', format: 'uri', description: 'default <issuer>/jwks' },
        algorithms: { ...stringList, default: ['ES256'] },
        sessionCookie: {
          type: 'boolean',
          default: true,
          description: 'accept the gatehouse_session cookie in place of a bearer token',
        },
        revocationFeed: {
          type: 'object',
          additionalProperties: false,
          required: ['url'],
          description:
            "the identity provider's durable revocation feed, read before serving tokens, after every reconnect of the revocation subscription and on a timer; without it a revocation whose pub/sub message is lost is not enforced",
          properties: {
            url: {
              type: 'string',
              format: 'uri',
              description: "the identity provider's own listener + /_gatehouse/revocations",
            },
            token: { type: 'string', minLength: 32, description: 'idp.revocationFeedToken' },
            pollIntervalMs: {
              type: 'integer',
              minimum: 100,
              maximum: 60000,
              default: 2000,
              description: 'catch-up poll: a lost message is found within this time even without a reconnect',
            },
          },
        },
      },
    },
    decision: {
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
    },
    authz: {
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
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'decision audit: one log line (`audit: "gateway"`) per sampled allow or deny, with the route, the reason, the client id and subject; can change on reload',
      properties: {
        allowSampleRate: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0,
          description:
            'share of allowed requests audited (the reason is the route policy that let it through)',
        },
        denySampleRate: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0,
          description: 'share of refused requests audited (the reason is the error code)',
        },
      },
    },
    forwardAuth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        path: { type: 'string', pattern: '^/_gatehouse/', default: '/_gatehouse/forward-auth' },
      },
    },
    assertion: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'the signed X-Gatehouse-Assertion sent to routes with `assertion` (docs/sdk/gateway-trust.md)',
      properties: {
        enabled: { type: 'boolean', default: false },
        keyFile: {
          type: 'string',
          minLength: 1,
          description:
            'PKCS#8 PEM ECDSA P-256 private key; default a key generated at start (one replica only)',
        },
        issuer: { type: 'string', minLength: 1, default: 'gatehouse-gateway' },
        ttlSec: { type: 'integer', minimum: 1, maximum: 60, default: 30 },
      },
    },
    bff: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'browser sessions: the gateway runs the code flow and keeps the tokens server-side',
      properties: {
        enabled: { type: 'boolean', default: false },
        issuer: {
          type: 'string',
          format: 'uri',
          description:
            'the identity provider (discovery at <issuer>/.well-known/openid-configuration); default auth.issuer',
        },
        clientId: { type: 'string', minLength: 1 },
        clientSecret: {
          type: 'string',
          minLength: 16,
          description: 'client_secret_basic at the token endpoint',
        },
        sessionSecret: {
          type: 'string',
          minLength: 32,
          description:
            'encrypts the stored tokens (AES-256-GCM, key derived with HKDF); same on every replica',
        },
        redirectPath: { type: 'string', pattern: '^/_gatehouse/', default: '/_gatehouse/bff/callback' },
        loginPath: { type: 'string', pattern: '^/_gatehouse/', default: '/_gatehouse/bff/login' },
        logoutPath: { type: 'string', pattern: '^/_gatehouse/', default: '/_gatehouse/bff/logout' },
        postLogoutPath: { type: 'string', pattern: '^/', default: '/' },
        cookieName: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'gatehouse_bff' },
        scopes: { ...stringList, default: ['openid', 'profile', 'offline_access'] },
        clients: {
          type: 'array',
          default: [],
          maxItems: 16,
          description:
            'public clients (code + PKCE, no secret) that routes with bffClient sign people in as: each keeps a session of its own, used on its routes only',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['clientId'],
            properties: {
              clientId: { type: 'string', minLength: 1 },
              scopes: { ...stringList, default: ['openid', 'profile'] },
            },
          },
        },
        sessionTtlSec: { type: 'integer', minimum: 60, maximum: 2592000, default: 28800 },
        refreshBeforeExpirySec: { type: 'integer', minimum: 0, maximum: 3600, default: 60 },
      },
    },
    routes: { type: 'array', items: route, default: [] },
  },
} as const;

/**
 * The `gateway` section after validation (`validateGatewayConfig`, defaults filled in), derived from
 * the schema: a key with a `default` is always present.
 */
export type GatewayConfig = FromSchema<typeof gatewayConfigSchema>;
export type GatewayAuthzConfig = NonNullable<GatewayConfig['authz']>;
export type BffConfig = GatewayConfig['bff'];
/** One route as the pipeline reads it. */
export type RouteConfig = GatewayConfig['routes'][number];
