import type { Logger } from '@gatehouse/core';
import * as oidc from 'openid-client';
import { idpErrors } from '../errors.ts';
import type { UpstreamProvider } from './broker-config.ts';
import { upstreamFetch } from './upstream-fetch.ts';

/**
 * The relying-party side of brokering, all of it through openid-client (a certified RP library):
 * discovery, the authorization URL with PKCE S256, `state` and `nonce`, and the callback, where
 * openid-client checks `state`, the RFC 9207 `iss` parameter (against mix-up), exchanges the code
 * and validates the ID token (`iss`, `aud`, `azp`, `exp`, `iat`, `nonce`, and its signature through
 * the upstream's JWKS: non-repudiation checks are switched on). Userinfo is asked only for what
 * the ID token lacks (OIDC Core 5.3: the claims may come from either): when the validated ID token
 * carries every claim the provider's mapping reads, its answer could change nothing, since the ID
 * token's claims win. A plain OAuth 2 provider has only userinfo.
 * Nothing here parses a token by hand.
 */
export interface PendingAuthorization {
  state: string;
  nonce: string;
  codeVerifier: string;
}

export interface UpstreamSignIn {
  /** The ID token claims (oidc) merged with the userinfo answer (its `sub` checked against the token's). */
  claims: Record<string, unknown>;
}

/** What the relying party asked of the sign-in that the upstream should hear too. */
export interface UpstreamHints {
  loginHint?: string | undefined;
  /** The relying party sent `prompt=login`: the person must sign in again, also upstream. */
  promptLogin?: boolean | undefined;
}

/** A `login_hint` longer than this, or with control characters, is not passed on. */
const MAX_LOGIN_HINT = 256;

/**
 * The hints of an authorization request (oidc-provider's interaction params) to pass upstream:
 * `login_hint` as the relying party sent it when it is plain text of a sane length, and
 * `prompt=login` when `prompt` includes `login`. Anything else is not forwarded.
 */
export function upstreamHints(params: Record<string, unknown>): UpstreamHints {
  const hint = params['login_hint'];
  const prompt = params['prompt'];
  return {
    loginHint:
      typeof hint === 'string' &&
      hint.length > 0 &&
      hint.length <= MAX_LOGIN_HINT &&
      !/[\u0000-\u001f\u007f]/.test(hint)
        ? hint
        : undefined,
    promptLogin: typeof prompt === 'string' && prompt.split(' ').includes('login'),
  };
}

export interface Upstream {
  readonly provider: UpstreamProvider;
  authorizationUrl(redirectUri: string, pending: PendingAuthorization, hints?: UpstreamHints): Promise<URL>;
  /** Throws IDP_BROKER_RESPONSE_INVALID, IDP_BROKER_UPSTREAM_DENIED or IDP_BROKER_UPSTREAM_UNAVAILABLE. */
  callback(currentUrl: URL, pending: PendingAuthorization): Promise<UpstreamSignIn>;
}

const isLoopback = (url: string) => new URL(url).protocol === 'http:';

/** The claims the provider's mapping (claim-mapping.ts) reads. */
function mappedClaimNames(provider: UpstreamProvider): string[] {
  const { subject, username, email, emailVerified, name } = provider.claims;
  return [subject, username, email, emailVerified, name, provider.roles.claim ?? ''].filter((c) => c !== '');
}

export function createUpstream(provider: UpstreamProvider, logger: Logger): Upstream {
  let configuration: Promise<oidc.Configuration> | undefined;
  /** Read once per configuration: `serverMetadata()` returns a fresh deep copy per call. */
  let userinfoEndpoint = false;
  const mapped = mappedClaimNames(provider);
  const auth = !provider.clientSecret
    ? oidc.None()
    : provider.tokenEndpointAuthMethod === 'client_secret_post'
      ? oidc.ClientSecretPost(provider.clientSecret)
      : oidc.ClientSecretBasic(provider.clientSecret);

  function configure(): Promise<oidc.Configuration> {
    if (!configuration) {
      configuration = (async () => {
        if (provider.type === 'oidc') {
          const issuer = provider.issuer!;
          const c = await oidc.discovery(new URL(issuer), provider.clientId, undefined, auth, {
            execute: isLoopback(issuer) ? [oidc.allowInsecureRequests] : [],
            [oidc.customFetch]: upstreamFetch,
          });
          userinfoEndpoint = c.serverMetadata().userinfo_endpoint !== undefined;
          // openid-client leaves the signature of an ID token from the token endpoint unchecked by
          // default (OIDC Core 3.1.3.7 allows it over TLS): here it is always checked, through the JWKS.
          oidc.enableNonRepudiationChecks(c);
          return c;
        }
        // A plain OAuth 2 provider has no discovery and no issuer: its authorization endpoint's
        // origin stands in, so that an `iss` response parameter naming anything else is refused.
        const c = new oidc.Configuration(
          {
            issuer: new URL(provider.authorizationEndpoint!).origin,
            authorization_endpoint: provider.authorizationEndpoint!,
            token_endpoint: provider.tokenEndpoint!,
            userinfo_endpoint: provider.userinfoEndpoint!,
          },
          provider.clientId,
          undefined,
          auth,
        );
        if (isLoopback(provider.authorizationEndpoint!)) oidc.allowInsecureRequests(c);
        c[oidc.customFetch] = upstreamFetch;
        userinfoEndpoint = true;
        return c;
      })();
      // A failed discovery is tried again at the next sign-in, not remembered.
      configuration.catch(() => {
        configuration = undefined;
      });
    }
    return configuration.catch((cause: unknown) => {
      logger.warn({ provider: provider.id, err: cause }, 'upstream discovery failed');
      throw idpErrors.create('IDP_BROKER_UPSTREAM_UNAVAILABLE', undefined, { cause });
    });
  }

  return {
    provider,
    async authorizationUrl(redirectUri, pending, hints = {}) {
      const c = await configure();
      const params: Record<string, string> = {
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: provider.scopes.join(' '),
        state: pending.state,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
      };
      if (provider.type === 'oidc') params['nonce'] = pending.nonce;
      if (hints.loginHint) params['login_hint'] = hints.loginHint;
      // `prompt` is OpenID Connect's; a plain OAuth 2 provider may refuse what it does not know.
      if (hints.promptLogin && provider.type === 'oidc') params['prompt'] = 'login';
      return oidc.buildAuthorizationUrl(c, params);
    },

    async callback(currentUrl, pending) {
      const c = await configure();
      const upstreamError = currentUrl.searchParams.get('error');
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(c, currentUrl, {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          ...(provider.type === 'oidc' ? { expectedNonce: pending.nonce, idTokenExpected: true } : {}),
        });
      } catch (cause) {
        const e = cause as { code?: string; error?: string; message?: string };
        logger.warn(
          { provider: provider.id, code: e.code, error: e.error, reason: e.message?.slice(0, 200) },
          'upstream response refused',
        );
        if (upstreamError && cause instanceof oidc.AuthorizationResponseError) {
          throw idpErrors.create('IDP_BROKER_UPSTREAM_DENIED', undefined, { cause });
        }
        if (e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || cause instanceof TypeError) {
          throw idpErrors.create('IDP_BROKER_UPSTREAM_UNAVAILABLE', undefined, { cause });
        }
        throw idpErrors.create('IDP_BROKER_RESPONSE_INVALID', undefined, { cause });
      }
      const idClaims = provider.type === 'oidc' ? tokens.claims() : undefined;
      let userinfo: Record<string, unknown> = {};
      const complete = idClaims !== undefined && mapped.every((claim) => Object.hasOwn(idClaims, claim));
      if (!complete && userinfoEndpoint) {
        try {
          userinfo = await oidc.fetchUserInfo(
            c,
            tokens.access_token,
            idClaims ? idClaims.sub : oidc.skipSubjectCheck,
          );
        } catch (cause) {
          logger.warn({ provider: provider.id, err: cause }, 'upstream userinfo refused');
          throw idpErrors.create('IDP_BROKER_RESPONSE_INVALID', undefined, { cause });
        }
      }
      // The ID token's claims win over userinfo's: they are the signed ones.
      return { claims: { ...userinfo, ...(idClaims ?? {}) } };
    },
  };
}

export const newPendingAuthorization = (): PendingAuthorization => ({
  state: oidc.randomState(),
  nonce: oidc.randomNonce(),
  codeVerifier: oidc.randomPKCECodeVerifier(),
});
