import { stringList } from './string-list.ts';

/** `gateway.bff`: browser sessions, the gateway as a client of the identity provider. */
export const bffSchema = {
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
      description: 'encrypts the stored tokens (AES-256-GCM, key derived with HKDF); same on every replica',
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
} as const;
