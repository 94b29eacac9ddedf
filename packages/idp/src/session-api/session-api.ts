import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  clientAddress,
  cookieValue,
  coreErrors,
  readFields,
  requestIsHttps,
  requestOrigin,
  sendError,
} from '@gatehouse/core';
import { sessionApiAccount } from '../account/session-api-account.ts';
import { accountServices } from '../accounts/account-services.ts';
import type { AccountWithRoles } from '../accounts/accounts.ts';
import { sessionApiBrokering } from '../brokering/session-api-brokering.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { HttpHandler, IdpRuntime } from '../index.ts';
import { PASSWORD_AMR } from '../mfa/interaction-second-factor.ts';
import { sessionApiSecondFactor } from '../mfa/session-api-second-factor.ts';
import { assertSameOrigin } from '../pages/csrf.ts';
import { sessionApiRecovery } from '../recovery/session-api-recovery.ts';
import {
  SESSION_COOKIE,
  type SessionClaims,
  sessionCookie,
  signSessionToken,
  verifySessionToken,
} from '../sessions/session-token.ts';

/**
 * The first-party session API of the e-commerce reference system, on the gateway's origin:
 *
 * | route                                | does                                                      |
 * | ------------------------------------ | --------------------------------------------------------- |
 * | `POST /authentication/registration`  | creates an account (username, password, optional email)   |
 * | `POST /authentication/login`         | checks the password, starts a session, sets the cookie    |
 * | `GET  /authentication/whoami`        | `{ id, username, roles }` of the session                  |
 * | `POST /authentication/logout`        | ends the session, revokes its sid everywhere, clears it   |
 *
 * An account with a second factor (or whose role needs one) finishes its login through the routes
 * of mfa/session-api-second-factor.ts. Email verification and password reset are the routes of
 * recovery/session-api-recovery.ts. Profile, password change, sessions and applications are the
 * routes of account/session-api-account.ts.
 *
 * Bodies are JSON or form-encoded, at most 8 KiB, with exactly the listed fields. Every POST passes
 * the cross-site rule of csrf.ts.
 */
const bodyLimit = 8 * 1024;
const fieldLimits: Record<string, number> = { username: 128, password: 1024, email: 254 };

function pick(
  fields: Record<string, string>,
  required: string[],
  optional: string[] = [],
): Record<string, string> {
  for (const name of Object.keys(fields)) {
    if (!required.includes(name) && !optional.includes(name)) {
      throw idpErrors.create('IDP_FIELD_UNKNOWN', `Unknown field ${name.slice(0, 40)}`);
    }
  }
  for (const name of required) {
    if (!fields[name]) throw idpErrors.create('IDP_FIELD_MISSING', `Field ${name} is required`);
  }
  for (const [name, value] of Object.entries(fields)) {
    const limit = fieldLimits[name] ?? 256;
    if (value.length > limit)
      throw idpErrors.create('IDP_FIELD_TOO_LONG', `Field ${name} is longer than ${limit}`);
  }
  return fields;
}

export function createSessionApi(idp: IdpRuntime): HttpHandler {
  const { accounts, sessions, config, trusted } = accountServices(idp);
  const { logger, issuer, state } = idp;
  const publicOrigins = [new URL(issuer).origin, ...config.allowedOrigins].map((o) => o.toLowerCase());
  const tolerance = idp.config.clockToleranceSeconds;

  function allowedOrigins(req: IncomingMessage): Set<string> {
    const own = requestOrigin(req, trusted);
    return new Set(own ? [...publicOrigins, own] : publicOrigins);
  }

  async function currentSession(req: IncomingMessage): Promise<SessionClaims | undefined> {
    const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!token) return undefined;
    const claims = await verifySessionToken(idp.keys, token, { issuer, clockToleranceSeconds: tolerance });
    if (!claims) return undefined;
    // The token alone is not enough here: the session must still be open in SQL.
    const session = await sessions.findActive(claims.sid);
    return session && session.userId === claims.sub ? claims : undefined;
  }

  function clearCookie(req: IncomingMessage): string {
    return sessionCookie('', { maxAgeSeconds: 0, secure: requestIsHttps(req, trusted) });
  }

  async function register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!config.registration) throw idpErrors.create('IDP_REGISTRATION_DISABLED');
    const ip = clientAddress(req, trusted);
    const fields = pick(await readFields(req, bodyLimit), ['username', 'password'], ['email']);
    const bucket = await state.takeToken(`idp:register:${ip}`, {
      capacity: config.registrationsPerHour,
      refillPerSecond: config.registrationsPerHour / 3600,
    });
    if (!bucket.allowed) {
      throw idpErrors.create('IDP_REGISTRATION_THROTTLED', undefined, {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(bucket.retryAfterMs / 1000))) },
      });
    }
    // A directory user's name is theirs, also before their first login (fails closed when the directory is down).
    if (await accounts.directory?.hasUser(fields['username']!)) throw idpErrors.create('IDP_USERNAME_TAKEN');
    for (const role of config.registrationRoles) await accounts.roles.ensure(role);
    const account = await accounts.create(
      {
        username: fields['username']!,
        password: fields['password']!,
        email: fields['email'],
        roles: config.registrationRoles,
      },
      { sourceIp: ip },
    );
    logger.info({ accountId: account.id }, 'account registered');
    await recovery.afterRegistration(req, account);
    sendJson(res, 201, { id: account.id, username: account.username, roles: account.roles });
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ip = clientAddress(req, trusted);
    const fields = pick(await readFields(req, bodyLimit), ['username', 'password']);
    const account = await accounts.authenticate(fields['username']!, fields['password']!, {
      ip,
      via: 'session-api',
    });
    if (await secondFactor.afterPassword(req, res, account)) return;
    await startSession(req, res, account, PASSWORD_AMR);
  }

  async function startSession(
    req: IncomingMessage,
    res: ServerResponse,
    account: AccountWithRoles,
    amr: string[],
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    const session = await sessions.start({
      userId: account.id,
      ttlSeconds: config.session.ttlSeconds,
      sourceIp: clientAddress(req, trusted),
      userAgent: req.headers['user-agent'],
    });
    const token = await signSessionToken(idp.keys, {
      issuer,
      sub: account.id,
      sid: session.sid,
      username: account.username,
      roles: account.roles,
      amr,
      expiresAt: session.expiresAt,
    });
    const cookie = sessionCookie(token, {
      maxAgeSeconds: Math.floor((session.expiresAt.getTime() - Date.now()) / 1000),
      secure: requestIsHttps(req, trusted),
    });
    sendJson(
      res,
      200,
      { id: account.id, username: account.username, roles: account.roles, ...extra },
      { 'set-cookie': cookie },
    );
  }

  const secondFactor = sessionApiSecondFactor(idp, {
    startSession,
    currentAccountId: async (req) => (await currentSession(req))?.sub,
  });

  const recovery = sessionApiRecovery(idp, {
    currentAccountId: async (req) => (await currentSession(req))?.sub,
  });

  async function whoami(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const claims = await currentSession(req);
    // Roles as they are now, not as they were at login: an admin change shows at once.
    const account = claims ? await accounts.get(claims.sub) : undefined;
    if (!claims || !account?.enabled) throw idpErrors.create('IDP_UNAUTHENTICATED');
    sendJson(res, 200, { id: account.id, username: account.username, roles: account.roles });
  }

  async function logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const claims = await currentSession(req);
    if (!claims) {
      throw idpErrors.create('IDP_UNAUTHENTICATED', undefined, {
        headers: { 'set-cookie': clearCookie(req) },
      });
    }
    await sessions.end(claims.sid, 'logout', { actor: claims.sub, sourceIp: clientAddress(req, trusted) });
    sendJson(res, 204, undefined, { 'set-cookie': clearCookie(req) });
  }

  const routes: Record<
    string,
    { method: string; run: (req: IncomingMessage, res: ServerResponse) => Promise<void> }
  > = {
    '/authentication/registration': { method: 'POST', run: register },
    '/authentication/login': { method: 'POST', run: login },
    '/authentication/whoami': { method: 'GET', run: whoami },
    '/authentication/logout': { method: 'POST', run: logout },
    ...secondFactor.routes,
    ...recovery.routes,
    // Linked upstream identities (brokering/).
    ...sessionApiBrokering(idp, { currentSession }).routes,
    // The person's own account: profile, password, sessions, applications (account/).
    ...sessionApiAccount(idp, { currentSession }).routes,
  };

  return async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0]!;
      const route = routes[path];
      if (!route) throw coreErrors.create('GH_NOT_FOUND');
      const method = req.method === 'HEAD' && route.method === 'GET' ? 'GET' : req.method;
      if (method !== route.method) {
        throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: route.method } });
      }
      if (route.method === 'POST') assertSameOrigin(req, allowedOrigins(req));
      await route.run(req, res);
    } catch (err) {
      const e = err as { status?: number; code?: string };
      if (typeof e.status === 'number' && e.status < 500) {
        logger.info(
          { code: e.code, path: (req.url ?? '').split('?')[0]!.slice(0, 100) },
          'session api request refused',
        );
      } else {
        logger.error({ err }, 'session api request failed');
      }
      // Drain what the client still sends so that the error answer reaches it.
      if (!req.complete) req.resume();
      sendError(res, err);
    }
  };
}
