import { stringList } from './string-list.ts';

/** `gateway.auth`: which tokens and session cookies the gateway accepts, and the revocation feed. */
export const authSchema = {
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
} as const;

/** `gateway.forwardAuth`: the endpoint proxies in front of other servers ask. */
export const forwardAuthSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enabled: { type: 'boolean', default: true },
    path: { type: 'string', pattern: '^/_gatehouse/', default: '/_gatehouse/forward-auth' },
  },
} as const;

/** `gateway.assertion`: the key and claims of the signed assertion routes may send upstream. */
export const assertionSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'the signed X-Gatehouse-Assertion sent to routes with `assertion` (docs/sdk/gateway-trust.md)',
  properties: {
    enabled: { type: 'boolean', default: false },
    keyFile: {
      type: 'string',
      minLength: 1,
      description: 'PKCS#8 PEM ECDSA P-256 private key; default a key generated at start (one replica only)',
    },
    issuer: { type: 'string', minLength: 1, default: 'gatehouse-gateway' },
    ttlSec: { type: 'integer', minimum: 1, maximum: 60, default: 30 },
  },
} as const;
