import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@gatehouse/core';
import { readCookie } from '@gatehouse/core';
import * as oidc from 'openid-client';
import type { BffConfig } from '../config-schema.ts';
import type { SharedState } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import { clearCookieValue, setCookieValue } from './bff-cookies.ts';
import { createSealer } from './bff-seal.ts';
import { type BffSessions, type BffTokens, createBffSessions } from './bff-sessions.ts';
import { safeReturnTo } from './return-to.ts';

/**
 * Browser sessions (BFF): the gateway is a confidential OAuth client of the identity provider. It
 * runs the authorization code flow with PKCE (openid-client), keeps the tokens server-side
 * (bff-sessions.ts) and gives the browser one HttpOnly cookie holding a random session id. Requests
 * carrying that cookie are authenticated with the stored access token, as if it came as a bearer.
 *
 * | path (configurable)          | method | does                                                   |
 * | ---------------------------- | ------ | ------------------------------------------------------ |
 * | `/_gatehouse/bff/login`      | GET    | start a login; `return_to` = a path on this site        |
 * | `/_gatehouse/bff/callback`   | GET    | finish it: exchange the code, set the session cookie   |
 * | `/_gatehouse/bff/logout`     | POST   | end the session here and at the identity provider      |
 *
 * A login is bound to the browser that started it: a short cookie holds its `state`, and the
 * callback must bring the same one, so a callback URL sent to someone else (login CSRF, session
 * fixation) does not log them in.
 *
 * Besides its own confidential client, the gateway may sign people in as public clients
 * (`gateway.bff.clients`, code + PKCE, no secret) for the routes that name one (`bffClient`): the
 * admin console has a client of its own, so its sign-in, its scopes and its MFA policy are its own at
 * the identity provider. Each client has its own session and cookie, read on its routes only, so a
 * token issued to one client is never forwarded to another's routes. `?client=` on the login path
 * chooses it.
 */
export interface Bff {
  /** The session cookies (one per client) and the login cookie: never sent upstream. */
  readonly cookieNames: ReadonlySet<string>;
  /** True when `path` is one of the BFF's endpoints. */
  owns(path: string): boolean;
  /** Where a browser starts a login (`?return_to=` a path on this site, `&client=` a public client). */
  readonly loginPath: string;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /**
   * The access token of the browser session named by the Cookie header (the session of `clientId`,
   * one of `gateway.bff.clients`, else of the gateway's own client); undefined without a session
   * cookie; throws GW_BFF_SESSION_EXPIRED when the cookie names no live session.
   */
  accessToken(cookieHeader: string | string[] | undefined, clientId?: string): Promise<string | undefined>;
  /**
   * Send the browser to sign in again at the level a route needs (step-up.ts), back to `returnTo`
   * afterwards: a login as `/login` starts one, with `acr_values` and `max_age` for the provider.
   */
  stepUp(
    res: ServerResponse,
    returnTo: string,
    ask: { acrValues?: string; maxAge?: number },
    clientId?: string,
  ): Promise<void>;
}

export interface BffDeps {
  state: SharedState;
  logger: Logger;
  /** Origin of the site as browsers see it: redirect URI and return paths are built on it. */
  publicUrl: string;
  /** Default issuer (the gateway's `auth.issuer`). */
  issuer: string;
}

const LOGIN_TTL_SEC = 600;

interface PendingLogin {
  verifier: string;
  nonce: string;
  returnTo: string;
  /** The client the login is for (undefined: the gateway's own). */
  clientId?: string;
}

/** One client the gateway signs people in as, with its own sessions and cookie. */
interface Flow {
  clientId: string;
  scopes: string[];
  cookieName: string;
  sessions: BffSessions;
  configuration(): Promise<oidc.Configuration>;
}

export function createBff(config: BffConfig, deps: BffDeps): Bff {
  const { clientId, clientSecret, sessionSecret } = config;
  if (!clientId || !clientSecret || !sessionSecret) {
    throw gatewayErrors.create(
      'GW_CONFIG_INVALID',
      'gateway.bff needs clientId, clientSecret and sessionSecret',
    );
  }
  const logger = deps.logger.child({ component: 'bff' });
  const issuer = config.issuer ?? deps.issuer;
  const publicUrl = deps.publicUrl.replace(/\/$/, '');
  const publicOrigin = new URL(publicUrl).origin;
  const secure = publicUrl.startsWith('https:');
  const redirectUri = `${publicUrl}${config.redirectPath}`;
  const loginCookie = `${config.cookieName}_login`;
  const sealer = createSealer(sessionSecret);

  const tokensOf = (r: oidc.TokenEndpointResponse): BffTokens => ({
    accessToken: r.access_token,
    refreshToken: r.refresh_token,
    idToken: r.id_token,
    expiresAt: Math.floor(Date.now() / 1000) + (r.expires_in ?? 300),
  });

  function flowOf(
    id: string,
    secret: string | undefined,
    scopes: string[],
    cookieName: string,
    keyPrefix?: string,
  ): Flow {
    let discovered: Promise<oidc.Configuration> | undefined;
    // Discovered on first use and kept; a failure is not cached, so the gateway may start first.
    const configuration = (): Promise<oidc.Configuration> => {
      discovered ??= oidc
        .discovery(
          new URL(issuer),
          id,
          secret === undefined ? {} : { client_secret: secret },
          // A public client proves the login with PKCE alone (RFC 7636); it has no secret to send.
          secret === undefined ? oidc.None() : oidc.ClientSecretBasic(secret),
          // Plain HTTP only when the issuer itself is (development on one machine).
          issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : undefined,
        )
        .catch((err: unknown) => {
          discovered = undefined;
          logger.warn({ err: (err as Error).message }, 'identity provider discovery failed');
          throw gatewayErrors.create('GW_BFF_IDP_UNAVAILABLE', undefined, { cause: err });
        });
      return discovered;
    };
    const sessions = createBffSessions({
      state: deps.state,
      sealer,
      logger,
      ttlSec: config.sessionTtlSec,
      refreshBeforeSec: config.refreshBeforeExpirySec,
      ...(keyPrefix ? { keyPrefix } : {}),
      async refresh(refreshToken) {
        const c = await configuration();
        try {
          return tokensOf(await oidc.refreshTokenGrant(c, refreshToken));
        } catch (err) {
          throw idpError(err, 'GW_BFF_SESSION_EXPIRED', logger, 'refresh refused');
        }
      },
    });
    return { clientId: id, scopes, cookieName, sessions, configuration };
  }

  const main = flowOf(clientId, clientSecret, config.scopes, config.cookieName);
  const publicFlows = new Map<string, Flow>();
  const cookieNames = new Set([config.cookieName, loginCookie]);
  for (const c of config.clients ?? []) {
    const cookieName = `${config.cookieName}_${c.clientId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    if (cookieNames.has(cookieName) || publicFlows.has(c.clientId)) {
      throw gatewayErrors.create('GW_CONFIG_INVALID', `gateway.bff.clients: ${c.clientId} is repeated`);
    }
    cookieNames.add(cookieName);
    publicFlows.set(
      c.clientId,
      flowOf(c.clientId, undefined, c.scopes, cookieName, `gatehouse:bff:session:${c.clientId}:`),
    );
  }
  const allFlows = [main, ...publicFlows.values()];
  /** The flow of a client the configuration names; the routes' names were checked at start-up. */
  const flowFor = (id: string | undefined): Flow => {
    if (id === undefined) return main;
    const flow = publicFlows.get(id);
    if (!flow) throw gatewayErrors.create('GW_BFF_CLIENT_UNKNOWN');
    return flow;
  };

  const loginKey = (state: string) => `gatehouse:bff:login:${state}`;

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const query = new URL(req.url ?? '/', publicOrigin).searchParams;
    const asked = query.getAll('return_to');
    const returnTo = asked.length > 1 ? undefined : safeReturnTo(asked[0]);
    if (returnTo === undefined) throw gatewayErrors.create('GW_BFF_RETURN_TO_INVALID');
    const client = query.getAll('client');
    if (client.length > 1) throw gatewayErrors.create('GW_BFF_CLIENT_UNKNOWN');
    await startLogin(res, returnTo, {}, flowFor(client[0]));
  }

  async function startLogin(
    res: ServerResponse,
    returnTo: string,
    ask: { acrValues?: string | undefined; maxAge?: number | undefined },
    flow: Flow,
  ): Promise<void> {
    const c = await flow.configuration();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const pending: PendingLogin = {
      verifier,
      nonce,
      returnTo,
      ...(flow === main ? {} : { clientId: flow.clientId }),
    };
    await deps.state.set(
      loginKey(state),
      sealer.seal(JSON.stringify(pending), loginKey(state)),
      LOGIN_TTL_SEC * 1000,
    );
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: flow.scopes.join(' '),
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    };
    // oidc-provider grants offline_access (a refresh token) only when consent was asked for.
    if (flow.scopes.includes('offline_access')) params['prompt'] = 'consent';
    // Step-up (RFC 9470): the provider signs the person in again when the session falls short.
    if (ask.acrValues) params['acr_values'] = ask.acrValues;
    if (ask.maxAge !== undefined) params['max_age'] = String(ask.maxAge);
    redirect(res, oidc.buildAuthorizationUrl(c, params).href, [
      setCookieValue(loginCookie, state, { maxAgeSec: LOGIN_TTL_SEC, secure }),
    ]);
  }

  async function callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const current = new URL(redirectUri);
    current.search = new URL(req.url ?? '/', publicOrigin).search;
    const state = current.searchParams.get('state');
    const cookie = readCookie(req.headers.cookie, loginCookie);
    if (!state || cookie.kind !== 'one' || cookie.value !== state) {
      throw gatewayErrors.create('GW_BFF_STATE_INVALID', undefined, {
        headers: { 'set-cookie': clearCookieValue(loginCookie, secure) },
      });
    }
    // One use per login, even when two callbacks race on two replicas.
    const first = await deps.state.setIfAbsent(`${loginKey(state)}:used`, '1', LOGIN_TTL_SEC * 1000);
    const sealed = first ? await deps.state.get(loginKey(state)) : null;
    await deps.state.delete(loginKey(state));
    const plain = sealed === null ? undefined : sealer.open(sealed, loginKey(state));
    if (plain === undefined) throw gatewayErrors.create('GW_BFF_STATE_INVALID');
    const pending = JSON.parse(plain) as PendingLogin;
    if (current.searchParams.has('error')) {
      logger.info(
        { error: current.searchParams.get('error')?.slice(0, 64) },
        'login refused by the identity provider',
      );
      throw gatewayErrors.create('GW_BFF_LOGIN_FAILED', undefined, {
        headers: { 'set-cookie': clearCookieValue(loginCookie, secure) },
      });
    }
    const flow = flowFor(pending.clientId);
    const c = await flow.configuration();
    let tokens: BffTokens;
    try {
      tokens = tokensOf(
        await oidc.authorizationCodeGrant(c, current, {
          pkceCodeVerifier: pending.verifier,
          expectedState: state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        }),
      );
    } catch (err) {
      throw idpError(err, 'GW_BFF_LOGIN_FAILED', logger, 'code exchange refused');
    }
    const sessionId = await flow.sessions.create(tokens);
    redirect(res, pending.returnTo, [
      setCookieValue(flow.cookieName, sessionId, { maxAgeSec: config.sessionTtlSec, secure }),
      clearCookieValue(loginCookie, secure),
    ]);
  }

  async function logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // SameSite=Lax already keeps the cookie off cross-site POSTs; this refuses them outright.
    const origin = req.headers.origin;
    if ((origin !== undefined && origin !== publicOrigin) || req.headers['sec-fetch-site'] === 'cross-site') {
      throw gatewayErrors.create('GW_BFF_CROSS_SITE');
    }
    // Every client's session in this browser ends: signing out of one page signs out of all.
    let location = config.postLogoutPath;
    let endedAtProvider = false;
    for (const flow of allFlows) {
      const cookie = readCookie(req.headers.cookie, flow.cookieName);
      const ended = cookie.kind === 'one' ? await flow.sessions.end(cookie.value) : undefined;
      if (!ended) continue;
      try {
        const c = await flow.configuration();
        if (ended.refreshToken) {
          await oidc
            .tokenRevocation(c, ended.refreshToken, { token_type_hint: 'refresh_token' })
            .catch((err) => {
              logger.warn({ err: (err as Error).message }, 'refresh token revocation failed');
            });
        }
        // RP-initiated logout: the identity provider ends its own session too (one session for all
        // the clients, so once).
        if (!endedAtProvider && c.serverMetadata().end_session_endpoint && ended.idToken) {
          endedAtProvider = true;
          location = oidc.buildEndSessionUrl(c, {
            id_token_hint: ended.idToken,
            post_logout_redirect_uri: `${publicUrl}${config.postLogoutPath}`,
          }).href;
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'logout at the identity provider skipped');
      }
    }
    redirect(
      res,
      location,
      allFlows.map((f) => clearCookieValue(f.cookieName, secure)),
    );
  }

  const endpoints: Record<string, { method: string; run: typeof login }> = {
    [config.loginPath]: { method: 'GET', run: login },
    [config.redirectPath]: { method: 'GET', run: callback },
    [config.logoutPath]: { method: 'POST', run: logout },
  };

  return {
    cookieNames,
    owns: (path) => Object.hasOwn(endpoints, path),
    loginPath: config.loginPath,
    async handle(req, res, path) {
      const endpoint = endpoints[path];
      if (!endpoint) throw gatewayErrors.create('GW_NOT_FOUND');
      if (req.method !== endpoint.method) {
        throw gatewayErrors.create('GW_METHOD_NOT_ALLOWED', undefined, {
          headers: { allow: endpoint.method },
        });
      }
      await endpoint.run(req, res);
    },
    async accessToken(cookieHeader, client) {
      const flow = flowFor(client);
      const cookie = readCookie(cookieHeader, flow.cookieName);
      if (cookie.kind === 'absent') return undefined;
      const token = cookie.kind === 'one' ? await flow.sessions.accessToken(cookie.value) : undefined;
      if (token === undefined) throw gatewayErrors.create('GW_BFF_SESSION_EXPIRED');
      return token;
    },
    async stepUp(res, returnTo, ask, client) {
      const safe = safeReturnTo(returnTo);
      if (safe === undefined) throw gatewayErrors.create('GW_BFF_RETURN_TO_INVALID');
      await startLogin(res, safe, ask, flowFor(client));
    },
  };
}

function redirect(res: ServerResponse, location: string, cookies: string[]): void {
  res.writeHead(303, {
    location,
    'set-cookie': cookies,
    'cache-control': 'no-store',
    'content-length': 0,
  });
  res.end();
}

/**
 * An openid-client failure as a gateway error: an OAuth error answer from the identity provider
 * (invalid_grant, a bad ID token) is `refused`; anything else (network, 5xx) is unavailability.
 */
function idpError(
  err: unknown,
  refused: 'GW_BFF_LOGIN_FAILED' | 'GW_BFF_SESSION_EXPIRED',
  logger: Logger,
  what: string,
) {
  const e = err as { code?: string; error?: string; status?: number; message?: string };
  const answered =
    e instanceof oidc.ResponseBodyError ||
    e instanceof oidc.AuthorizationResponseError ||
    (typeof e.code === 'string' && e.code.startsWith('OAUTH_') && e.code !== 'OAUTH_RESPONSE_IS_NOT_CONFORM');
  logger.warn(
    { code: e.code, error: e.error, status: e.status },
    answered ? what : 'identity provider unavailable',
  );
  return answered
    ? gatewayErrors.create(refused, undefined, { cause: err })
    : gatewayErrors.create('GW_BFF_IDP_UNAVAILABLE', undefined, { cause: err });
}
