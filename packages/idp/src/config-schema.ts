import type { FromSchema } from 'json-schema-to-ts';
import { accountsConfigSchema } from './accounts/accounts-config.ts';
import { brokeringConfigSchema } from './brokering/broker-config.ts';
import { directoryConfigSchema } from './directory/directory-config.ts';
import { mailConfigSchema } from './mail/mail-config.ts';
import { mfaConfigSchema } from './mfa/mfa-config.ts';
import { recoveryConfigSchema } from './recovery/recovery-config.ts';

/**
 * The `idp` section of the Gatehouse configuration (JSON Schema, ajv with `useDefaults`).
 * Every key has a default or is optional; unknown keys are refused everywhere.
 */

/**
 * The development-only key-encryption secret. The CLI and `createIdp` refuse it in production mode:
 * signing keys encrypted with a published secret are as good as public.
 */
export const DEV_KEY_ENCRYPTION_SECRET = 'gatehouse-development-key-encryption-secret-not-for-production';

const clientIdPattern = '^[A-Za-z0-9._:-]{1,128}$';
/** One scope token (RFC 6749 §3.3: printable ASCII without space, quote or backslash). */
const scopeTokenPattern = '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}$';

/** RFC 8693 token exchange, a grant type a client config may list. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

export const idpClientConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['clientId'],
  properties: {
    clientId: {
      type: 'string',
      pattern: clientIdPattern,
      description: 'the client_id (letters, digits, . _ : -; at most 128)',
    },
    clientSecret: {
      type: 'string',
      minLength: 16,
      maxLength: 512,
      description:
        'plain secret (stored as a SHA-256 hash); use clientSecretSha256 to keep it out of the file',
    },
    clientSecretSha256: {
      type: 'string',
      pattern: '^[0-9a-f]{64}$',
      description: 'hex SHA-256 of the client secret',
    },
    tokenEndpointAuthMethod: {
      type: 'string',
      enum: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      default: 'client_secret_basic',
      description:
        'how the client authenticates at the token endpoint; none: a public client (browser, native app) that must use PKCE',
    },
    grantTypes: {
      type: 'array',
      uniqueItems: true,
      items: {
        type: 'string',
        enum: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE_GRANT],
      },
      default: ['authorization_code', 'refresh_token'],
      description:
        'grants the client may use; a service calling others needs client_credentials, delegation the token-exchange grant',
    },
    redirectUris: {
      type: 'array',
      items: { type: 'string', format: 'uri' },
      default: [],
      description: 'exact redirect URIs of the code flow',
    },
    postLogoutRedirectUris: {
      type: 'array',
      items: { type: 'string', format: 'uri' },
      default: [],
      description: 'where RP-initiated logout may send the browser back to',
    },
    backchannelLogoutUri: { type: 'string', format: 'uri' },
    backchannelLogoutSessionRequired: {
      type: 'boolean',
      description: 'logout tokens sent to backchannelLogoutUri carry the session id (sid)',
    },
    jwksUri: { type: 'string', format: 'uri', description: 'public keys for private_key_jwt' },
    jwks: {
      type: 'object',
      required: ['keys'],
      properties: { keys: { type: 'array', items: { type: 'object' } } },
      description: 'inline public keys for private_key_jwt',
    },
    idTokenSignedResponseAlg: {
      type: 'string',
      enum: ['ES256', 'EdDSA', 'RS256'],
      description:
        'algorithm of the ID tokens this client gets (id_token_signed_response_alg); default idp.signingAlgorithm. RS256 is signed by the RSA ID-token key',
    },
    scope: {
      type: 'string',
      default: 'openid profile email offline_access',
      description: 'OpenID scopes the client may ask for (space separated); resource scopes go in resources',
    },
    roles: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' },
      default: [],
      description: 'roles put in access tokens this client gets with client credentials',
    },
    firstParty: {
      type: 'boolean',
      default: false,
      description: 'consent is skipped for first-party clients',
    },
    requireMfa: {
      type: 'boolean',
      default: false,
      description:
        'every sign-in for this client needs a second factor (default_acr_values urn:gatehouse:acr:mfa; docs/mfa.md)',
    },
    resources: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { type: 'string', format: 'uri', maxLength: 512 },
      additionalProperties: {
        type: 'array',
        uniqueItems: true,
        maxItems: 64,
        items: { type: 'string', pattern: scopeTokenPattern },
      },
      default: {},
      description:
        'resource indicators (RFC 8707) this client may ask tokens for, each with the exact scopes a token for it may carry',
    },
    certificateBoundAccessTokens: {
      type: 'boolean',
      description:
        'RFC 8705: the access tokens of this client are bound to its TLS client certificate (needs idp.features.certificateBoundAccessTokens); a token request without one is refused',
    },
    webOrigins: {
      type: 'array',
      uniqueItems: true,
      maxItems: 64,
      items: { type: 'string', pattern: '^https?://[^/?#*\\s]+$' },
      default: [],
      description:
        "origins of browser apps (e.g. https://app.example.com) allowed to call the token, userinfo, introspection and revocation endpoints for this client (CORS); a public client may also call from its redirect URIs' origins",
    },
  },
} as const;

export const idpConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    issuer: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://[^?#]+$',
      description: 'issuer identifier; default server.publicUrl + /auth',
    },
    defaultAudience: {
      type: 'string',
      format: 'uri',
      description: 'aud of access tokens when no resource is asked for; default server.publicUrl',
    },
    resources: {
      type: 'array',
      items: { type: 'string', format: 'uri' },
      default: [],
      description: 'further resource indicators (RFC 8707) clients may ask tokens for',
    },
    accessTokenTtlSeconds: {
      type: 'integer',
      minimum: 30,
      maximum: 86400,
      default: 600,
      description: 'lifetime of access tokens (JWT, typ at+jwt), every grant',
    },
    refreshTokenTtlSeconds: {
      type: 'integer',
      minimum: 60,
      maximum: 31536000,
      default: 1209600,
      description: 'absolute lifetime of a refresh-token chain; rotation does not extend it',
    },
    idTokenTtlSeconds: {
      type: 'integer',
      minimum: 30,
      maximum: 86400,
      default: 3600,
      description: 'lifetime of ID tokens',
    },
    authorizationCodeTtlSeconds: {
      type: 'integer',
      minimum: 10,
      maximum: 600,
      default: 60,
      description: 'lifetime of authorization codes (single use)',
    },
    sessionTtlSeconds: {
      type: 'integer',
      minimum: 60,
      maximum: 31536000,
      default: 86400,
      description: 'lifetime of a sign-in session at the identity provider',
    },
    interactionTtlSeconds: {
      type: 'integer',
      minimum: 60,
      maximum: 86400,
      default: 900,
      description: 'time a user has to finish the login and consent pages',
    },
    signingAlgorithm: {
      type: 'string',
      enum: ['ES256', 'EdDSA'],
      default: 'ES256',
      description: 'algorithm of the signing keys (changing it rotates to a key of the new algorithm)',
    },
    keyEncryptionSecret: {
      type: 'string',
      minLength: 32,
      default: DEV_KEY_ENCRYPTION_SECRET,
      description: 'encrypts signing keys at rest; the default is refused in production',
    },
    keyRotationDays: {
      type: 'integer',
      minimum: 0,
      maximum: 3650,
      default: 30,
      description:
        'age at which the active signing key is rotated at start-up or on the hourly check; 0 = only by hand',
    },
    keyReloadSeconds: {
      type: 'integer',
      minimum: 1,
      maximum: 3600,
      default: 60,
      description: 'how often a replica re-reads the signing keys other replicas may have rotated',
    },
    clockToleranceSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 300,
      default: 5,
      description: 'clock skew allowed when checking JWTs (client assertions, DPoP proofs)',
    },
    revocationFeedToken: {
      type: 'string',
      minLength: 32,
      description:
        "bearer token the revocation feed (/_gatehouse/revocations on the identity provider's own listener) requires; set the same value as gateway.auth.revocationFeed.token. Unset, the feed answers whoever reaches that listener",
    },
    clients: {
      type: 'array',
      items: idpClientConfigSchema,
      default: [],
      description: 'OAuth clients from the config file, stored in SQL at start (secrets hashed)',
    },
    allowPrivateNetworkFetch: {
      type: 'boolean',
      default: false,
      description:
        'let back-channel logout calls and client jwks_uri fetches reach loopback and private addresses (relying parties inside the cluster); off, they are refused as SSRF',
    },
    accounts: accountsConfigSchema,
    directory: directoryConfigSchema,
    mfa: mfaConfigSchema,
    mail: mailConfigSchema,
    recovery: recoveryConfigSchema,
    brokering: brokeringConfigSchema,
    features: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        pushedAuthorizationRequests: { type: 'boolean', default: false, description: 'PAR (RFC 9126)' },
        requirePushedAuthorizationRequests: {
          type: 'boolean',
          default: false,
          description: 'refuse authorization requests that were not pushed first',
        },
        dpop: { type: 'boolean', default: false, description: 'DPoP (RFC 9449)' },
        certificateBoundAccessTokens: {
          type: 'boolean',
          default: false,
          description:
            'RFC 8705: bind the access tokens of clients with certificateBoundAccessTokens to the TLS client certificate the gateway verified and passes on (gateway.tls.clientCaFile)',
        },
        backchannelLogout: { type: 'boolean', default: true, description: 'OIDC back-channel logout' },
      },
    },
  },
} as const;

/** The client's keys that clients written in code may leave out. */
type DefaultedOnRead = 'requireMfa' | 'resources' | 'webOrigins';

/**
 * One client of `idp.clients` after validation (defaults filled in), derived from the schema. The
 * keys of `DefaultedOnRead` stay optional: clients are also written in code (demo seeds, examples,
 * tests) and read back from storage, where a key left out means its default.
 */
type ValidatedClient = FromSchema<typeof idpClientConfigSchema>;
export type IdpClientConfig = Omit<ValidatedClient, DefaultedOnRead> &
  Partial<Pick<ValidatedClient, DefaultedOnRead>>;

/**
 * The `idp` section after validation (defaults filled in), derived from the schema. The feature
 * sections (accounts, directory, mfa, mail, recovery, brokering) have their schemas' types here;
 * each feature still resolves its own section (its `resolve…Config`) before using it. `clients` are
 * `IdpClientConfig`s: the CLI adds clients written in code (examples, development sessions).
 */
export type IdpConfig = Omit<FromSchema<typeof idpConfigSchema>, 'clients'> & { clients: IdpClientConfig[] };
