import type { Logger } from '@gatehouse/core';
import Provider, { type Configuration, errors, type KoaContextWithOIDC } from 'oidc-provider';
import { resolveAccountsConfig } from '../accounts/accounts-config.ts';
import type { IdpConfig } from '../config-schema.ts';
import { idpTrustedProxies } from '../http/client-address.ts';
import { forwardedClientCertificate } from '../http/forwarded-client-certificate.ts';
import { type KeyRing, RSA_ID_TOKEN_ALGORITHM } from '../keys/keys.ts';
import { localSigningKeys } from '../keys/local-signing-key.ts';
import { ACR_VALUES } from '../mfa/acr.ts';
import { recordJwtAccessToken } from '../storage/jwt-access-tokens.ts';
import { currentUnitOfWork } from '../storage/unit-of-work.ts';
import {
  clientAllowsOrigin,
  clientPolicy,
  clientSecretMatches,
  EXTRA_CLIENT_METADATA,
  freshClientEntry,
} from './clients.ts';
import { defaultRenderError } from './default-error-page.ts';
import { exchangedTokenClaims } from './exchange-claims.ts';
import { gatehouseInteractionPolicy } from './interaction-policy.ts';
import { cacheClientInstances, compareClientSecretsWith } from './oidc-provider-internals.ts';
import { providerClaims } from './scope-claims.ts';
import { introspectionAllowed, revocationAllowed } from './token-policies.ts';

/**
 * The oidc-provider configuration: what Gatehouse allows and what it turns off. The protocol is
 * oidc-provider's; this file only chooses.
 *
 * - Code flow only (`response_types: code`), PKCE S256 required for every client, exact redirect URIs
 *   (oidc-provider compares them exactly; a missing redirect_uri is never filled in).
 * - Access tokens are JWTs (RFC 9068, `typ: at+jwt`) for every grant: every token request resolves
 *   a resource indicator (RFC 8707), `idp.defaultAudience` when the client names none.
 * - Refresh tokens rotate on every use; oidc-provider revokes the grant when a consumed one comes back,
 *   and keeps them bound to their client. Their chain has an absolute lifetime (`iiat` + TTL).
 * - Client secrets are compared against SHA-256 hashes (clients.ts), so no symmetric algorithm that
 *   would need the secret itself (HS*, client_secret_jwt) is enabled.
 */

/** What the identity provider needs from accounts (accounts.ts implements it). */
export interface IdpAccount {
  accountId: string;
  /** Put in access tokens as `username`. */
  username?: string;
  /** Put in access tokens as `roles` (direct and through groups). */
  roles?: string[];
  claims(
    use: string,
    scope: string,
    claims: Record<string, unknown>,
    rejected: string[],
  ): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export interface AccountsPort {
  /** undefined for an unknown or disabled account: oidc-provider then refuses codes and refresh tokens. */
  findAccount(
    ctx: KoaContextWithOIDC | undefined,
    sub: string,
    token?: unknown,
  ): Promise<IdpAccount | undefined>;
}

/** Optional page renderers (the hosted pages); defaults are plain, safe HTML. */
export interface ProviderPages {
  renderError?: NonNullable<Configuration['renderError']>;
  logoutSource?: (ctx: KoaContextWithOIDC, form: string) => Promise<void> | void;
  postLogoutSuccessSource?: (ctx: KoaContextWithOIDC) => Promise<void> | void;
}

export interface BuildProviderOptions {
  config: IdpConfig;
  issuer: string;
  defaultAudience: string;
  keyRing: KeyRing;
  adapter: NonNullable<Configuration['adapter']>;
  sql: import('@gatehouse/core').Sql;
  cookieKeys: string[];
  logger: Logger;
  /** Read at each use: the account store may be attached after the provider is built. */
  accounts: () => AccountsPort | undefined;
  pages?: ProviderPages | undefined;
  /** Whether an OIDC session's sid was revoked by a logout (a refresh after it then drops `sid`). */
  isSidRevoked?: (sid: string) => Promise<boolean>;
  /** Path of the interaction pages under the issuer's origin. */
  interactionPath: string;
}

export const SCOPES = ['openid', 'offline_access', 'profile', 'email'] as const;

/**
 * The provider's routes below the issuer (oidc-provider's documented `routes`, spelled out rather
 * than left to its defaults: the write batches and the JWT middleware match requests by them).
 */
export const ROUTES = {
  authorization: '/auth',
  end_session: '/session/end',
  introspection: '/token/introspection',
  jwks: '/jwks',
  pushed_authorization_request: '/request',
  revocation: '/token/revocation',
  token: '/token',
  userinfo: '/me',
} as const;

const asymmetricAlgs = ['ES256', 'EdDSA', 'PS256', 'RS256'] as const;

function isRefresh(ctx: KoaContextWithOIDC | undefined): boolean {
  return ctx?.oidc?.params?.['grant_type'] === 'refresh_token';
}

const CLIENT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;

export function buildProvider(options: BuildProviderOptions): Provider {
  const { config, issuer, defaultAudience, keyRing, accounts, logger, sql } = options;
  const alg = config.signingAlgorithm;
  const sharedResources = new Set(config.resources);
  const certificateProxies = idpTrustedProxies(resolveAccountsConfig(config.accounts).trustedProxies);

  /**
   * The scopes a token for `indicator` may carry when `client` asks for it, or undefined when the
   * client may not ask for it (invalid_target):
   * - an indicator the client lists in its `resources` metadata: exactly the scopes listed there;
   * - the default audience: the scopes the client may ask for;
   * - an `idp.resources` entry, only for a client that lists no resources of its own (the open
   *   behaviour from before per-client resources): the scopes the client may ask for.
   * A client with its own `resources` is confined to them and the default audience.
   */
  function resourceScope(
    client: { scope?: string | undefined; metadata(): Record<string, unknown> },
    indicator: string,
  ) {
    const own = clientPolicy(client).resources;
    const listed = own[indicator];
    if (listed) return listed.join(' ');
    const clientScope = client.scope ?? SCOPES.join(' ');
    if (indicator === defaultAudience) return clientScope;
    if (Object.keys(own).length === 0 && sharedResources.has(indicator)) return clientScope;
    return undefined;
  }

  /** Whether a logout revoked `sid`: read with the refresh token when it was (adapter.ts), else asked. */
  async function sidRevoked(sid: string): Promise<boolean | undefined> {
    if (!options.isSidRevoked) return undefined;
    return currentUnitOfWork()?.takeSidRevocation(sid) ?? (await options.isSidRevoked(sid));
  }

  const configuration: Configuration = {
    adapter: options.adapter,
    // Signed on the event loop with node:crypto rather than through WebCrypto's thread pool (local-signing-key.ts).
    jwks: localSigningKeys(keyRing.privateJwks) as unknown as Configuration['jwks'],
    cookies: {
      keys: options.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    clients: [],
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: alg,
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    // Extra discovery members (oidc-provider's documented `discovery` option): introspection and
    // revocation authenticate clients exactly as the token endpoint does.
    discovery: {
      claim_types_supported: ['normal'],
      introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    },
    enabledJWA: {
      clientAuthSigningAlgValues: [...asymmetricAlgs],
      // RS256 as OpenID Connect Discovery requires, signed by the RSA ID-token key (keys.ts) for the
      // clients whose id_token_signed_response_alg asks for it.
      idTokenSigningAlgValues: ['ES256', 'EdDSA', RSA_ID_TOKEN_ALGORITHM],
      userinfoSigningAlgValues: ['ES256', 'EdDSA'],
      introspectionSigningAlgValues: ['ES256', 'EdDSA'],
      authorizationSigningAlgValues: ['ES256', 'EdDSA'],
      requestObjectSigningAlgValues: [...asymmetricAlgs],
      dPoPSigningAlgValues: ['ES256', 'EdDSA'],
    },
    responseTypes: ['code'],
    routes: { ...ROUTES },
    pkce: { required: () => true },
    scopes: [...SCOPES],
    // Each scope's claims, and `acr` and `amr` with `openid` in every ID token (scope-claims.ts).
    claims: providerClaims(),
    // The levels a client may ask for with acr_values or default_acr_values (mfa/acr.ts).
    acrValues: [...ACR_VALUES],
    clockTolerance: config.clockToleranceSeconds,
    allowOmittingSingleRegisteredRedirectUri: false,
    // Authorization by POST (oidcc-ensure-post-request-succeeds) stays off: oidc-provider allows it only
    // with SameSite=None session cookies, which need HTTPS and weaken cross-site protection.
    enableHttpPostMethods: false,
    rotateRefreshToken: true,
    extraClientMetadata: {
      properties: [...EXTRA_CLIENT_METADATA],
      validator(_ctx, key, value) {
        if (key === 'roles') {
          if (value === undefined) return;
          if (!Array.isArray(value) || !value.every((r) => typeof r === 'string')) {
            throw new errors.InvalidClientMetadata('roles must be an array of strings');
          }
        }
        if (
          key === 'web_origins' &&
          value !== undefined &&
          (!Array.isArray(value) ||
            !value.every((o) => typeof o === 'string' && URL.parse(o)?.origin === o && o !== 'null'))
        ) {
          throw new errors.InvalidClientMetadata(
            'web_origins must be an array of origins (scheme://host[:port])',
          );
        }
        if (key === 'first_party' && value !== undefined && typeof value !== 'boolean') {
          throw new errors.InvalidClientMetadata('first_party must be a boolean');
        }
        if (key === 'resources' && value !== undefined) {
          const valid =
            value !== null &&
            typeof value === 'object' &&
            !Array.isArray(value) &&
            Object.entries(value as Record<string, unknown>).every(
              ([indicator, scopes]) =>
                URL.canParse(indicator) &&
                !indicator.includes('#') &&
                Array.isArray(scopes) &&
                scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s)),
            );
          if (!valid) {
            throw new errors.InvalidClientMetadata(
              'resources must map absolute resource URIs to arrays of scope tokens',
            );
          }
        }
      },
    },
    // CORS for browser apps (clients.ts clientAllowsOrigin; jwt-tokens.ts applies it to userinfo).
    clientBasedCORS(_ctx, origin, client) {
      return clientAllowsOrigin(client, origin);
    },
    // oidc-provider checks a client assertion's exp but not its iat (RFC 7523 §3 lets the server
    // refuse assertions issued too far in the future): allow only the configured clock skew.
    async assertJwtClientAuthClaimsAndHeader(_ctx, claims) {
      const iat = (claims as { iat?: unknown }).iat;
      if (typeof iat === 'number' && iat > Math.floor(Date.now() / 1000) + config.clockToleranceSeconds) {
        throw new errors.InvalidClientAuth('client assertion iat is in the future');
      }
    },
    async findAccount(ctx, sub, token) {
      const store = accounts();
      if (!store) return undefined;
      const account = await store.findAccount(ctx, sub, token);
      return account as Awaited<ReturnType<NonNullable<Configuration['findAccount']>>>;
    },
    async issueRefreshToken(_ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    // First-party clients skip consent: their grant is what they ask for (oidc-provider's recipe).
    async loadExistingGrant(ctx) {
      const grantId =
        (ctx.oidc.result?.consent as { grantId?: string } | undefined)?.grantId ??
        ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      if (!ctx.oidc.client || !clientPolicy(ctx.oidc.client).firstParty || !ctx.oidc.session?.accountId)
        return undefined;
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      const requested = ctx.oidc.params?.['scope'];
      if (typeof requested === 'string') {
        grant.addOIDCScope(requested);
        for (const indicator of Object.keys(ctx.oidc.resourceServers ?? {}))
          grant.addResourceScope(indicator, requested);
      }
      await grant.save();
      return grant;
    },
    async extraTokenClaims(ctx, token) {
      const t = token as unknown as {
        kind: string;
        accountId?: string;
        sessionUid?: string;
        client?: { metadata(): Record<string, unknown> };
      };
      if (t.kind === 'ClientCredentials') {
        const client = t.client ?? ctx?.oidc.client;
        return { roles: client ? [...clientPolicy(client).roles] : [] };
      }
      if (!t.accountId) return undefined;
      // The token request already loaded the account (oidc-provider's validateAccount, for codes and
      // refresh tokens, refuses a missing or disabled one): use it rather than reading it again.
      const loaded = ctx?.oidc?.entities?.Account as IdpAccount | undefined;
      const account =
        loaded?.accountId === t.accountId ? loaded : await accounts()?.findAccount(ctx, t.accountId, token);
      const extra: Record<string, unknown> = { roles: account?.roles ?? [] };
      if (account?.username) extra['username'] = account.username;
      // `sid` is the OIDC session's uid: one value per browser session for every client, which is
      // what an admin revokes (docs/contracts.md: revocation by sid).
      // A grant that outlives its session's logout (offline_access) keeps refreshing, but its new
      // tokens must not carry the revoked sid, or gateways would refuse them (logout-revocation.ts).
      if (t.sessionUid && !(isRefresh(ctx) && (await sidRevoked(t.sessionUid)))) extra['sid'] = t.sessionUid;
      // A token-exchange token keeps the subject token's sid and names the acting client.
      const exchanged = exchangedTokenClaims(token);
      if (exchanged?.sid !== undefined) extra['sid'] = exchanged.sid;
      if (exchanged) extra['act'] = exchanged.act;
      // How the person signed in, as in the ID token, for resource servers and the gateway's step-up:
      // the code or refresh token the grant redeems keeps its login's acr, amr and auth_time.
      const login = (ctx?.oidc?.entities?.AuthorizationCode ?? ctx?.oidc?.entities?.RefreshToken) as
        | { acr?: string; amr?: string[]; authTime?: number; accountId?: string }
        | undefined;
      if (login?.accountId === t.accountId && !exchanged) {
        if (login.amr) extra['amr'] = login.amr;
        if (login.acr) extra['acr'] = login.acr;
        if (login.authTime) extra['auth_time'] = login.authTime;
      }
      return extra;
    },
    formats: {
      customizers: {
        // JWTs issued in a grant are recorded so that revoking the grant revokes them (jwt-access-tokens.ts).
        async jwt(_ctx, token, jwt) {
          const t = token as unknown as {
            grantId?: string;
            sid?: string;
            clientId: string;
            accountId?: string;
          };
          const p = jwt.payload as { jti: string; exp: number };
          if (t.grantId) {
            await recordJwtAccessToken(sql, {
              jti: p.jti,
              grantId: t.grantId,
              ...(t.sid === undefined ? {} : { sid: t.sid }),
              clientId: t.clientId,
              ...(t.accountId === undefined ? {} : { accountId: t.accountId }),
              exp: p.exp,
            });
          }
        },
      },
    },
    features: {
      devInteractions: { enabled: false },
      externalSigningSupport: { enabled: true, ack: 'experimental-01' },
      registration: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => introspectionAllowed({ client, token }),
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => revocationAllowed({ client, token }),
      },
      userinfo: { enabled: true },
      backchannelLogout: { enabled: config.features.backchannelLogout },
      rpInitiatedLogout: {
        enabled: true,
        ...(options.pages?.logoutSource ? { logoutSource: options.pages.logoutSource } : {}),
        ...(options.pages?.postLogoutSuccessSource
          ? { postLogoutSuccessSource: options.pages.postLogoutSuccessSource }
          : {}),
      },
      pushedAuthorizationRequests: {
        enabled: config.features.pushedAuthorizationRequests,
        requirePushedAuthorizationRequests: config.features.requirePushedAuthorizationRequests,
      },
      dPoP: { enabled: config.features.dpop },
      // RFC 8705 certificate-bound access tokens. TLS ends at the gateway, which passes the client
      // certificate it verified (against its clientCaFile) in X-Gatehouse-Client-Cert; the header
      // counts only from a trusted proxy (the gateway strips any a client sends).
      mTLS: {
        enabled: config.features.certificateBoundAccessTokens,
        certificateBoundAccessTokens: config.features.certificateBoundAccessTokens,
        getCertificate(ctx) {
          return forwardedClientCertificate(ctx.req, certificateProxies);
        },
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(_ctx, _client, oneOf) {
          return oneOf ?? defaultAudience;
        },
        // A token request without `resource` gets the resource granted at authorization.
        async useGrantedResource() {
          return true;
        },
        async getResourceServerInfo(_ctx, resourceIndicator, client) {
          const scope = resourceScope(client, resourceIndicator);
          if (scope === undefined) throw new errors.InvalidTarget();
          return {
            scope,
            audience: resourceIndicator,
            accessTokenTTL: config.accessTokenTtlSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
    interactions: {
      policy: gatehouseInteractionPolicy(),
      url: (_ctx, interaction) => `${options.interactionPath}/${interaction.uid}`,
    },
    ttl: {
      AccessToken: config.accessTokenTtlSeconds,
      ClientCredentials: config.accessTokenTtlSeconds,
      AuthorizationCode: config.authorizationCodeTtlSeconds,
      IdToken: config.idTokenTtlSeconds,
      Interaction: config.interactionTtlSeconds,
      Session: config.sessionTtlSeconds,
      Grant: config.refreshTokenTtlSeconds,
      // Absolute lifetime: a rotated token keeps its chain's first issue time (iiat).
      RefreshToken(_ctx, token) {
        const iiat = (token as unknown as { iiat?: number }).iiat ?? Math.floor(Date.now() / 1000);
        const left = iiat + config.refreshTokenTtlSeconds - Math.floor(Date.now() / 1000);
        return Math.max(1, left);
      },
    },
    renderError: options.pages?.renderError ?? defaultRenderError,
    // oidc-provider refuses outbound requests to special-use addresses (SSRF) with its own dispatcher;
    // dropping it is an explicit opt-in for relying parties on the cluster network.
    ...((config.allowPrivateNetworkFetch
      ? {
          fetch: (url: URL | string, init: RequestInit & { dispatcher?: unknown }) => {
            const { dispatcher: _ssrfGuard, ...rest } = init;
            return globalThis.fetch(url, rest);
          },
        }
      : {}) as Partial<Configuration>),
  };

  const provider = new Provider(issuer, configuration);
  // Requests reach the provider through the gateway; idp-server.ts pins the forwarded host and
  // protocol to the issuer's, so trusting them cannot move the issuer's endpoints.
  provider.proxy = true;
  // Client secrets are stored as SHA-256 hashes (clients.ts): compare the presented one's hash.
  compareClientSecretsWith(provider.Client, clientSecretMatches);
  // Client lookups run on every token request: oidc-provider's copies the adapter's metadata, then
  // serializes and hashes it to find the Client instance built from it. While the client cache
  // (clients.ts) holds an entry, the instance found with it is reused. The adapter (createAdapterClass
  // on `sql`) serves a fresh entry's metadata before its first await, so the instance found while an
  // entry is fresh and still current was built from that entry's metadata.
  cacheClientInstances(provider.Client, (id) => freshClientEntry(sql, id));

  provider.on('server_error', (_ctx, err) => logger.error({ err }, 'oidc-provider server error'));
  // Every refused protocol request is logged with its OAuth error code (never with its parameters).
  for (const event of [
    'authorization.error',
    'grant.error',
    'introspection.error',
    'revocation.error',
    'userinfo.error',
    'end_session.error',
    'end_session_confirm.error',
    'pushed_authorization_request.error',
    'backchannel.error',
  ]) {
    (provider as unknown as NodeJS.EventEmitter).on(
      event,
      (_ctx: unknown, err: { error?: string; error_description?: string }) =>
        logger.info({ event, error: err.error, description: err.error_description }, 'oauth request refused'),
    );
  }
  provider.on('grant.revoked', (_ctx, grantId) => logger.info({ grantId }, 'grant revoked'));
  return provider;
}
