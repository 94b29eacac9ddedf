import type { Logger } from '@gatehouse/core';
import type { Verifier } from '@gatehouse/sdk';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import * as oidc from 'openid-client';
import { type AppSessions, createAppSessions } from './app-sessions.ts';
import { createLogoutTokenVerifier } from './logout-token.ts';
import { renderAppPage } from './pages.ts';

/**
 * One SSO web application: a confidential OpenID Connect relying party of the identity provider
 * (authorization code + PKCE, `client_secret_basic`, openid-client), with its own server-side
 * session behind an HttpOnly cookie.
 *
 * | route                       | does                                                                  |
 * | --------------------------- | --------------------------------------------------------------------- |
 * | `GET /`                     | the signed-in page (user, roles); signed out: off to `/login`         |
 * | `GET /login`                | starts the code flow (state, nonce, PKCE) at the identity provider    |
 * | `GET /callback`             | redeems the code, verifies the ID and access tokens, starts a session |
 * | `POST /logout`              | ends the session here, then RP-initiated logout at the provider       |
 * | `GET /signed-out`           | where the provider sends the browser after logout                     |
 * | `POST /backchannel-logout`  | the provider ends a session here (Back-Channel Logout 1.0)            |
 * | `GET /health`               | liveness                                                              |
 */
export interface RelyingPartyOptions {
  /** `sso-app-1`: the client id and the cookie prefix (apps on one host share cookies across ports). */
  clientId: string;
  clientSecret: string;
  title: string;
  /** This app's origin as the browser sees it, e.g. http://127.0.0.1:8081. */
  origin: string;
  /** The other app, linked from the page. */
  peer: { title: string; origin: string };
  issuer: string;
  jwksUri: string;
  /** Verifies the access tokens this app receives (roles come from them). */
  verifier: Verifier;
  logger: Logger;
}

export interface RelyingParty {
  app: Hono;
  sessions: AppSessions;
}

export function createRelyingParty(options: RelyingPartyOptions): RelyingParty {
  const { clientId, origin, logger } = options;
  const sessions = createAppSessions();
  const sessionCookie = `${clientId}.session`;
  const loginCookie = `${clientId}.login`;
  const redirectUri = `${origin}/callback`;
  const secureCookies = origin.startsWith('https:');
  const verifyLogoutToken = createLogoutTokenVerifier({
    issuer: options.issuer,
    clientId,
    jwksUri: options.jwksUri,
  });

  // Discovery goes through the gateway, which may come up after this app: fetched on first use,
  // and fetched again after a failure.
  let configuration: Promise<oidc.Configuration> | undefined;
  const oidcConfig = (): Promise<oidc.Configuration> => {
    configuration ??= oidc
      .discovery(
        new URL(options.issuer),
        clientId,
        undefined,
        oidc.ClientSecretBasic(options.clientSecret),
        options.issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        configuration = undefined;
        throw err;
      });
    return configuration;
  };

  const app = new Hono();
  app.use(bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('Request body too large', 413) }));
  const page = (c: Context, status: 200 | 400 | 403, body: Parameters<typeof renderAppPage>[0]) => {
    c.header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' " + new URL(options.issuer).origin,
    );
    c.header('cache-control', 'no-store');
    return c.html(renderAppPage(body), status);
  };
  const base = { title: options.title, peer: options.peer };

  app.get('/health', (c) => c.json({ status: 'ok', service: clientId }));

  app.get('/', (c) => {
    const session = sessions.get(getCookie(c, sessionCookie));
    if (!session) return c.redirect('/login', 302);
    return page(c, 200, { ...base, session });
  });

  app.get('/login', async (c) => {
    const config = await oidcConfig();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const loginId = sessions.startLogin({ state, nonce, codeVerifier });
    setCookie(c, loginCookie, loginId, {
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: 600,
      secure: secureCookies,
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return c.redirect(url.href, 302);
  });

  app.get('/callback', async (c) => {
    const pending = sessions.takeLogin(getCookie(c, loginCookie));
    deleteCookie(c, loginCookie, { path: '/' });
    if (!pending)
      return page(c, 400, { ...base, error: 'This sign-in has expired or was already used. Sign in again.' });
    const config = await oidcConfig();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, new URL(c.req.url, origin), {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      // An `error=access_denied` answer, a wrong state or a refused code all end here.
      logger.info({ app: clientId, reason: (err as { code?: string }).code ?? 'refused' }, 'sign-in refused');
      return page(c, 400, { ...base, error: 'Sign-in did not complete. Sign in again.' });
    }
    const claims = tokens.claims()!;
    const principal = await options.verifier.verifyAccessToken(tokens.access_token);
    const session = sessions.create({
      sub: claims.sub,
      sid: typeof claims['sid'] === 'string' ? claims['sid'] : undefined,
      username: principal.username ?? claims.sub,
      roles: [...principal.roles],
      idToken: tokens.id_token!,
    });
    setCookie(c, sessionCookie, session.id, {
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      secure: secureCookies,
    });
    logger.info({ app: clientId, user: session.username }, 'signed in');
    return c.redirect('/', 302);
  });

  app.post('/logout', async (c) => {
    // A cookie-authenticated POST: refused unless the browser says it comes from this app's page.
    if (c.req.header('origin') !== origin)
      return page(c, 403, { ...base, error: 'Cross-site sign-out refused.' });
    const session = sessions.end(getCookie(c, sessionCookie));
    deleteCookie(c, sessionCookie, { path: '/' });
    if (!session) return c.redirect('/signed-out', 303);
    const config = await oidcConfig();
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: `${origin}/signed-out`,
    });
    return c.redirect(url.href, 303);
  });

  app.get('/signed-out', (c) => page(c, 200, { ...base, signedOut: true }));

  app.post('/backchannel-logout', async (c) => {
    c.header('cache-control', 'no-store');
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = form['logout_token'];
    if (typeof token !== 'string' || token.length > 8192) {
      return c.json({ error: 'invalid_request', error_description: 'logout_token is required' }, 400);
    }
    try {
      const request = await verifyLogoutToken(token);
      const ended = sessions.endMatching(request);
      logger.info({ app: clientId, ended }, 'back-channel logout');
      return c.body(null, 200);
    } catch (err) {
      logger.info({ app: clientId, reason: (err as Error).message }, 'back-channel logout refused');
      return c.json({ error: 'invalid_request', error_description: 'The logout token is not valid' }, 400);
    }
  });

  return { app, sessions };
}
