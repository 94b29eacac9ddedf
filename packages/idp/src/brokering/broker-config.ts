import { createRequire } from 'node:module';
import type { FromSchema } from 'json-schema-to-ts';
import { idpErrors } from '../errors.ts';

/**
 * Brokering: people sign in through upstream identity providers (OpenID Connect by discovery, or
 * plain OAuth 2 with a userinfo endpoint), configured under `idp.brokering.providers`.
 *
 * - broker-config.ts: the schema, the presets (Google, Microsoft Entra ID, GitHub, GitLab) and the
 *   resolved provider list;
 * - upstream.ts: the relying-party side, entirely through openid-client;
 * - linked-identities.ts: the upstream identities linked to local accounts, in SQL;
 * - broker-flow.ts: the login-page buttons, the callback, first login (create or link) and the
 *   session API routes to link and unlink.
 */
const rolePattern = '^[a-z0-9][a-z0-9._:-]{0,63}$';
const claimName = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' } as const;

const providerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'clientId'],
  properties: {
    id: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9-]{0,31}$',
      description: 'stable name of the provider: part of every link, never change it',
    },
    preset: {
      type: 'string',
      enum: ['google', 'microsoft', 'github', 'gitlab'],
      description: 'fills in the endpoints, scopes and claim mapping of a well-known provider',
    },
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'the button label: "Sign in with <name>"',
    },
    type: {
      type: 'string',
      enum: ['oidc', 'oauth2'],
      description: 'oidc: discovery and a validated ID token; oauth2: the userinfo endpoint only',
    },
    issuer: {
      type: 'string',
      maxLength: 512,
      description: 'OpenID Connect issuer (discovery URL without /.well-known)',
    },
    tenant: {
      type: 'string',
      pattern: '^[A-Za-z0-9.-]{1,64}$',
      description:
        'Microsoft Entra ID tenant id or domain (preset microsoft): "common" is refused, its issuer varies',
    },
    authorizationEndpoint: { type: 'string', maxLength: 512, description: 'oauth2 only' },
    tokenEndpoint: { type: 'string', maxLength: 512, description: 'oauth2 only' },
    userinfoEndpoint: {
      type: 'string',
      maxLength: 512,
      description: 'oauth2: required; oidc: from discovery',
    },
    clientId: { type: 'string', minLength: 1, maxLength: 256 },
    clientSecret: {
      type: 'string',
      maxLength: 1024,
      description:
        'prefer GATEHOUSE_IDP__BROKERING__PROVIDERS__<n>__CLIENT_SECRET; absent: a public client (PKCE only)',
    },
    tokenEndpointAuthMethod: {
      type: 'string',
      enum: ['client_secret_basic', 'client_secret_post'],
      description:
        'how the client secret reaches the token endpoint (default client_secret_basic); post for providers that do not decode form-encoded Basic credentials',
    },
    scopes: { type: 'array', maxItems: 32, items: { type: 'string', pattern: '^[!#-\\[\\]-~]{1,128}$' } },
    claims: {
      type: 'object',
      additionalProperties: false,
      properties: {
        subject: { ...claimName, description: 'the stable upstream id (default sub)' },
        username: { ...claimName, description: 'proposed username (the part before @ of an address)' },
        email: claimName,
        emailVerified: {
          type: 'string',
          pattern: '^(|[A-Za-z0-9_.:-]{1,64})$',
          description: 'boolean claim saying the email is verified; empty: the email is never trusted',
        },
        name: claimName,
      },
    },
    roles: {
      type: 'object',
      additionalProperties: false,
      properties: {
        claim: { ...claimName, description: 'claim holding groups (a string or an array of strings)' },
        map: {
          type: 'object',
          maxProperties: 1000,
          additionalProperties: {
            type: 'array',
            maxItems: 64,
            items: { type: 'string', pattern: rolePattern },
          },
          description: 'upstream group → Gatehouse roles',
        },
        defaultRoles: { type: 'array', maxItems: 64, items: { type: 'string', pattern: rolePattern } },
      },
    },
    createAccounts: {
      type: 'boolean',
      description: 'a first login may create a local account (default true); false: link only',
    },
  },
} as const;

export const brokeringConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'sign-in through upstream identity providers (docs/federation.md)',
  properties: {
    providers: { type: 'array', maxItems: 32, items: providerSchema, default: [] },
  },
} as const;

/** `idp.brokering` as the schema admits it (defaults filled in), before any preset is applied. */
type BrokeringInput = FromSchema<typeof brokeringConfigSchema>;
/** One entry of `idp.brokering.providers` as the schema admits it. */
type ProviderInput = FromSchema<typeof providerSchema>;

/** `T` with the keys `K` always present: resolution fills them in from a preset or a default. */
type FilledIn<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };

/** The upstream claim behind each local field; an empty `emailVerified`: the email is never trusted. */
export type ClaimMapping = Required<NonNullable<ProviderInput['claims']>>;

/**
 * A provider after resolution: its preset applied (and dropped, with the tenant it needed), every
 * mapping filled in. The endpoints and the client secret stay optional: which are needed depends
 * on the type, checked by `resolveBrokeringConfig`.
 */
export type UpstreamProvider = Omit<
  FilledIn<ProviderInput, 'name' | 'type' | 'tokenEndpointAuthMethod' | 'scopes' | 'createAccounts'>,
  'preset' | 'tenant' | 'claims' | 'roles'
> & {
  claims: ClaimMapping;
  roles: FilledIn<NonNullable<ProviderInput['roles']>, 'map' | 'defaultRoles'>;
};

/** `idp.brokering` after resolution: every provider resolved. */
export type BrokeringConfig = Omit<BrokeringInput, 'providers'> & {
  providers: UpstreamProvider[];
};

const oidcClaims: ClaimMapping = {
  subject: 'sub',
  username: 'preferred_username',
  email: 'email',
  emailVerified: 'email_verified',
  name: 'name',
};

/**
 * The well-known providers. Their endpoints and claims are their documented ones; what a preset
 * leaves open (client id and secret, a tenant) comes from the config. The email of a provider that
 * does not say whether it verified it (GitHub's public profile email) is never trusted.
 */
export const presets: Record<
  NonNullable<ProviderInput['preset']>,
  (p: ProviderInput) => Partial<UpstreamProvider>
> = {
  google: () => ({
    name: 'Google',
    type: 'oidc',
    issuer: 'https://accounts.google.com',
    scopes: ['openid', 'email', 'profile'],
    claims: { ...oidcClaims, username: 'email' },
  }),
  microsoft: (p) => {
    if (!p.tenant || ['common', 'organizations', 'consumers'].includes(p.tenant.toLowerCase())) {
      invalid(`provider ${p.id}: preset microsoft needs a tenant id or domain (not common)`);
    }
    return {
      name: 'Microsoft',
      type: 'oidc',
      issuer: `https://login.microsoftonline.com/${p.tenant}/v2.0`,
      scopes: ['openid', 'email', 'profile'],
      // Entra ID's `email` is not verified by default; xms_edov (an optional claim) says when it is.
      claims: { ...oidcClaims, subject: 'oid', emailVerified: 'xms_edov' },
    };
  },
  github: () => ({
    name: 'GitHub',
    type: 'oauth2',
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    userinfoEndpoint: 'https://api.github.com/user',
    scopes: ['read:user', 'user:email'],
    claims: { subject: 'id', username: 'login', email: 'email', emailVerified: '', name: 'name' },
  }),
  gitlab: () => ({
    name: 'GitLab',
    type: 'oidc',
    issuer: 'https://gitlab.com',
    scopes: ['openid', 'profile', 'email'],
    claims: { ...oidcClaims, username: 'nickname' },
  }),
};

const Ajv = createRequire(import.meta.url)('ajv').default as typeof import('ajv').default;

function invalid(detail: string): never {
  throw idpErrors.create('IDP_CONFIG_INVALID', `idp.brokering: ${detail}`);
}

/** https, or http to a loopback host (a local provider in development and tests). */
export function isAllowedEndpoint(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password || url.hash) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** Validate `idp.brokering` (defaults filled in, presets applied); throws IDP_CONFIG_INVALID. */
export function resolveBrokeringConfig(partial: unknown = {}): BrokeringConfig {
  const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: true });
  const copy = structuredClone(partial ?? {});
  const validate = ajv.compile(brokeringConfigSchema);
  if (!validate(copy)) invalid(ajv.errorsText(validate.errors));
  const inputs = (copy as BrokeringInput).providers;
  const seen = new Set<string>();
  const providers = inputs.map((input) => {
    if (seen.has(input.id)) invalid(`provider id ${input.id} is given twice`);
    seen.add(input.id);
    const preset = input.preset ? presets[input.preset](input) : {};
    const type = input.type ?? preset.type ?? 'oidc';
    const base = type === 'oidc' ? oidcClaims : { ...oidcClaims, subject: 'id', emailVerified: '' };
    const provider: UpstreamProvider = {
      id: input.id,
      name: input.name ?? preset.name ?? input.id,
      type,
      issuer: input.issuer ?? preset.issuer,
      authorizationEndpoint: input.authorizationEndpoint ?? preset.authorizationEndpoint,
      tokenEndpoint: input.tokenEndpoint ?? preset.tokenEndpoint,
      userinfoEndpoint: input.userinfoEndpoint ?? preset.userinfoEndpoint,
      clientId: input.clientId,
      clientSecret: input.clientSecret || undefined,
      tokenEndpointAuthMethod: input.tokenEndpointAuthMethod ?? 'client_secret_basic',
      scopes: input.scopes ?? preset.scopes ?? (type === 'oidc' ? ['openid', 'profile', 'email'] : []),
      claims: { ...base, ...preset.claims, ...input.claims },
      roles: {
        claim: input.roles?.claim,
        map: input.roles?.map ?? {},
        defaultRoles: input.roles?.defaultRoles ?? [],
      },
      createAccounts: input.createAccounts ?? true,
    };
    if (input.tokenEndpointAuthMethod && !provider.clientSecret) {
      invalid(
        `provider ${input.id}: tokenEndpointAuthMethod needs clientSecret (without one the client is public)`,
      );
    }
    if (type === 'oidc') {
      if (!provider.issuer) invalid(`provider ${input.id}: an oidc provider needs issuer`);
      if (!provider.scopes.includes('openid'))
        invalid(`provider ${input.id}: an oidc provider needs scope openid`);
    } else if (!provider.authorizationEndpoint || !provider.tokenEndpoint || !provider.userinfoEndpoint) {
      invalid(
        `provider ${input.id}: an oauth2 provider needs authorizationEndpoint, tokenEndpoint, userinfoEndpoint`,
      );
    }
    for (const url of [
      provider.issuer,
      provider.authorizationEndpoint,
      provider.tokenEndpoint,
      provider.userinfoEndpoint,
    ]) {
      if (url !== undefined && !isAllowedEndpoint(url)) {
        invalid(`provider ${input.id}: ${url} must be https (http only to a loopback host)`);
      }
    }
    return provider;
  });
  return { providers };
}
