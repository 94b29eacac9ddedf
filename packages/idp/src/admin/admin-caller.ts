import type { IncomingMessage } from 'node:http';
import { cookieValue, requestOrigin } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { idpErrors } from '../errors.ts';
import type { IdpRuntime } from '../index.ts';
import { assertSameOrigin } from '../pages/csrf.ts';
import { findClient } from '../protocol/clients.ts';
import { verifyAccessToken } from '../protocol/jwt-tokens.ts';
import { SESSION_COOKIE, verifySessionToken } from '../sessions/session-token.ts';
import type { Caller } from './admin-route.ts';

/**
 * Who calls the admin API, checked as it is now on every request.
 *
 * A bearer access token issued by this identity provider (signature with its own keys, `typ: at+jwt`,
 * not revoked, audience this deployment) that carries the `admin` role or the `admin` scope. The
 * token's client must still exist (and still be registered for the `admin` scope when the token
 * relies on it); a client token needs the client's current `admin` role; for a user's token the user
 * must still exist, be enabled and still hold the role. Taking the role away, disabling or deleting
 * takes effect at once, not at token expiry.
 *
 * A browser console may instead use the first-party session cookie (`gatehouse_session`) of a user
 * who holds the `admin` role, checked the same way (session still open, user enabled, role held now).
 * A browser sends that cookie on its own, so a cookie-authenticated unsafe request (POST, PATCH, PUT,
 * DELETE) must pass the cross-site rule (csrf.ts) and carry `X-Gatehouse-Csrf: 1`: a header no form
 * can send, and that a page on another origin can only send after a CORS preflight this API never
 * grants. Bearer tokens are not sent by browsers on their own, so they need neither.
 */
export const ADMIN_CSRF_HEADER = 'x-gatehouse-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function adminCaller(idp: IdpRuntime): (req: IncomingMessage) => Promise<Caller> {
  const { accounts, sessions, trusted, config: accountsConfig } = accountServices(idp);
  const { issuer, sql } = idp;
  const audiences = new Set([idp.defaultAudience, issuer]);
  const publicOrigins = [new URL(issuer).origin, ...accountsConfig.allowedOrigins].map((o) =>
    o.toLowerCase(),
  );

  /** A console's request: the session cookie of a user who holds the admin role now. */
  async function authenticateSession(req: IncomingMessage, token: string): Promise<Caller> {
    if (!SAFE_METHODS.has(req.method ?? 'GET')) {
      const own = requestOrigin(req, trusted);
      assertSameOrigin(req, new Set(own ? [...publicOrigins, own] : publicOrigins));
      if (req.headers[ADMIN_CSRF_HEADER] !== '1') {
        throw idpErrors.create(
          'IDP_CSRF_REJECTED',
          `Cross-site request refused: a change made with the session cookie needs the header X-Gatehouse-Csrf: 1`,
        );
      }
    }
    const claims = await verifySessionToken(idp.keys, token, {
      issuer,
      clockToleranceSeconds: idp.config.clockToleranceSeconds,
    });
    const session = claims ? await sessions.findActive(claims.sid) : undefined;
    if (!claims || !session || session.userId !== claims.sub) {
      throw idpErrors.create('IDP_UNAUTHENTICATED', 'The session is not valid', {
        headers: { 'www-authenticate': 'Bearer realm="gatehouse-admin"' },
      });
    }
    const user = await accounts.get(claims.sub);
    if (!user?.enabled || !user.roles.includes('admin')) throw idpErrors.create('IDP_FORBIDDEN');
    return { actor: claims.sub };
  }

  return async function authenticate(req: IncomingMessage): Promise<Caller> {
    const header = req.headers.authorization ?? '';
    const sessionToken = header === '' ? cookieValue(req.headers.cookie, SESSION_COOKIE) : undefined;
    if (sessionToken) return authenticateSession(req, sessionToken);
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    if (!match) {
      throw idpErrors.create('IDP_UNAUTHENTICATED', 'A bearer access token is required', {
        headers: { 'www-authenticate': 'Bearer realm="gatehouse-admin"' },
      });
    }
    const claims = await verifyAccessToken(match[1]!, {
      issuer,
      keys: () => idp.keys.verifier(),
      revocations: idp.revocations,
      clockToleranceSeconds: idp.config.clockToleranceSeconds,
    });
    const aud = claims ? (Array.isArray(claims.aud) ? claims.aud : [claims.aud]) : [];
    if (!claims || !aud.some((a) => typeof a === 'string' && audiences.has(a))) {
      throw idpErrors.create('IDP_UNAUTHENTICATED', 'The access token is not valid here', {
        headers: { 'www-authenticate': 'Bearer realm="gatehouse-admin", error="invalid_token"' },
      });
    }
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    const sub = String(claims.sub ?? '');
    const isUserToken = sub !== '' && sub !== claims.client_id;
    // The caller as it is now, not as the token describes it: a deleted client, a client that lost
    // the admin role or scope, a disabled or deleted user, or one that lost the role, is refused at once.
    const client = await findClient(sql, claims.client_id);
    if (!client) {
      throw idpErrors.create('IDP_UNAUTHENTICATED', 'The client of this access token no longer exists', {
        headers: { 'www-authenticate': 'Bearer realm="gatehouse-admin", error="invalid_token"' },
      });
    }
    const clientMayAskAdmin = (client.scope ?? '').split(' ').includes('admin');
    let admin: boolean;
    if (isUserToken) {
      const user = await accounts.get(sub);
      admin =
        !!user?.enabled && ((scopes.includes('admin') && clientMayAskAdmin) || user.roles.includes('admin'));
    } else {
      admin = client.roles.includes('admin') || (scopes.includes('admin') && clientMayAskAdmin);
    }
    if (!admin) {
      throw idpErrors.create('IDP_FORBIDDEN', undefined, {
        headers: {
          'www-authenticate': 'Bearer realm="gatehouse-admin", error="insufficient_scope", scope="admin"',
        },
      });
    }
    return { actor: isUserToken ? sub : `client:${claims.client_id}` };
  };
}
