import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import {
  clientAddress,
  cookieValue,
  coreErrors,
  mediaTypeOf,
  readBody,
  requestOrigin,
  sendError,
} from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { resolveAccountsConfig } from '../accounts/accounts-config.ts';
import type { AuditEventType } from '../audit/audit.ts';
import { adminApiBrokering } from '../brokering/admin-api-brokering.ts';
import type { IdpClientConfig } from '../config-schema.ts';
import { adminApiDirectory } from '../directory/admin-api-directory.ts';
import { idpErrors } from '../errors.ts';
import { sendJson } from '../http/json-response.ts';
import type { HttpHandler, IdpRuntime } from '../index.ts';
import { mfaServiceOf } from '../mfa/mfa-service.ts';
import { assertSameOrigin } from '../pages/csrf.ts';
import {
  clientExists,
  clientMetadataFromConfig,
  deleteClient,
  findClient,
  generateClientSecret,
  listClients,
  rotateClientSecret,
  setClientEnabled,
  upsertClient,
} from '../protocol/clients.ts';
import { verifyAccessToken } from '../protocol/jwt-tokens.ts';
import { validateClientMetadata } from '../protocol/oidc-provider-internals.ts';
import { revokeEverythingOf as revokeAccount } from '../revocation/account-revocation.ts';
import { SESSION_COOKIE, verifySessionToken } from '../sessions/session-token.ts';
import { adminBodySchemas, adminOpenApi } from './openapi.ts';

/**
 * The admin REST API at `<issuer path>/admin/*` (routes in openapi.ts, served at
 * `/auth/admin/openapi.json`).
 *
 * Every operation needs `Authorization: Bearer <access token>` issued by this identity provider
 * (signature with its own keys, `typ: at+jwt`, not revoked, audience this deployment) that carries
 * the `admin` role or the `admin` scope. The caller is checked as it is now on every request: the
 * token's client must still exist (and still be registered for the `admin` scope when the token
 * relies on it); a client token needs the client's current `admin` role; for a user's token the
 * user must still exist, be enabled and still hold the role. Taking the role away, disabling or
 * deleting takes effect at once, not at token expiry.
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

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default as typeof import('ajv').default;
const addFormats = require('ajv-formats').default as typeof import('ajv-formats').default;

type Validator = ((data: unknown) => boolean) & {
  errors?: Array<{
    keyword: string;
    instancePath: string;
    message?: string;
    params: Record<string, unknown>;
  }> | null;
};

const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true });
addFormats(ajv);
const validators = Object.fromEntries(
  Object.entries(adminBodySchemas).map(([k, schema]) => [k, ajv.compile(schema) as unknown as Validator]),
) as Record<keyof typeof adminBodySchemas, Validator>;

interface Caller {
  actor: string;
}

type Params = Record<string, string>;
type Route = {
  method: string;
  query: string[];
  pattern: RegExp;
  keys: string[];
  run: (ctx: {
    req: IncomingMessage;
    res: ServerResponse;
    params: Params;
    query: URLSearchParams;
    caller: Caller;
  }) => Promise<void>;
};

function compile(path: string): { pattern: RegExp; keys: string[] } {
  const keys: string[] = [];
  const source = path.replace(/\{(\w+)\}/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), keys };
}

function intParam(query: URLSearchParams, key: string, min: number, max: number): number | undefined {
  const raw = query.get(key);
  if (raw === null) return undefined;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw idpErrors.create(
      'IDP_FIELD_INVALID',
      `Query parameter ${key} must be an integer from ${min} to ${max}`,
    );
  }
  return Number(raw);
}

// RFC 3339 only (what the document's `date-time` means): Date.parse alone takes `0.5` or `May 1`.
const rfc3339 =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

function dateParam(query: URLSearchParams, key: string): Date | undefined {
  const raw = query.get(key);
  if (raw === null) return undefined;
  const d = new Date(raw);
  if (raw.length > 40 || !rfc3339.test(raw) || Number.isNaN(d.getTime())) {
    throw idpErrors.create('IDP_FIELD_INVALID', `Query parameter ${key} must be an RFC 3339 date-time`);
  }
  return d;
}

/**
 * Other replicas keep a client's metadata for up to 5 s (the adapter's client cache) and may still
 * issue it a token meanwhile: a deleted or disabled client's revocation covers that window too.
 */
const CLIENT_GONE_GRACE_SECONDS = 7;

const controlCharacter = /[\u0000-\u001f\u007f]/;
// Decoded into a path parameter these are what gateways refuse in a path: refused here too, so the
// API takes the same names whichever way it is reached.
const pathSeparator = /[/\\;]/;

function checkQuery(query: URLSearchParams, allowed: string[]): void {
  for (const [key, value] of query) {
    if (controlCharacter.test(value) || value.length > 256) {
      throw idpErrors.create('IDP_FIELD_INVALID', `Query parameter ${key.slice(0, 40)} has an invalid value`);
    }
    if (!allowed.includes(key))
      throw idpErrors.create('IDP_FIELD_UNKNOWN', `Unknown query parameter ${key.slice(0, 40)}`);
  }
}

async function jsonBody<T>(req: IncomingMessage, schema: keyof typeof adminBodySchemas): Promise<T> {
  const type = mediaTypeOf(req);
  if (type !== 'application/json')
    throw coreErrors.create('GH_UNSUPPORTED_MEDIA_TYPE', 'Send application/json');
  const raw = await readBody(req, 64 * 1024);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw coreErrors.create('GH_BAD_REQUEST', 'Body is not valid JSON');
  }
  const validate = validators[schema];
  if (!validate(value)) {
    const e = validate.errors?.[0];
    if (e?.keyword === 'additionalProperties') {
      throw idpErrors.create(
        'IDP_FIELD_UNKNOWN',
        `Unknown field ${String(e.params['additionalProperty']).slice(0, 40)}`,
      );
    }
    if (e?.keyword === 'required') {
      throw idpErrors.create('IDP_FIELD_MISSING', `Field ${String(e.params['missingProperty'])} is required`);
    }
    throw idpErrors.create('IDP_FIELD_INVALID', `${e?.instancePath || 'body'} ${e?.message ?? 'is invalid'}`);
  }
  return value as T;
}

export function createAdminApi(idp: IdpRuntime): HttpHandler {
  const { accounts, sessions, audit, trusted, config: accountsConfig } = accountServices(idp);
  const { logger, issuer, sql } = idp;
  const mount = `${new URL(issuer).pathname.replace(/\/$/, '')}/admin`;
  const audiences = new Set([idp.defaultAudience, issuer]);
  const openApi = JSON.stringify(adminOpenApi(`${issuer.replace(/\/$/, '')}/admin`));

  const change = (caller: Caller, subject: string, action: string, details: Record<string, unknown> = {}) =>
    audit.record({
      type: 'admin.change' as AuditEventType,
      actor: caller.actor,
      subject,
      details: { action, ...details },
    });

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

  async function authenticate(req: IncomingMessage): Promise<Caller> {
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
  }

  // How long a revocation of every token of a client or user must last: until the last token it
  // names has expired (access tokens, and for users the first-party session tokens too).
  const tolerance = idp.config.clockToleranceSeconds;
  const accessTokenLifetime = idp.config.accessTokenTtlSeconds + tolerance;
  const sessionTokenLifetime =
    resolveAccountsConfig((idp.config as { accounts?: unknown }).accounts ?? {}).session.ttlSeconds +
    tolerance;

  /**
   * Revoke every token issued so far to a client (`client`) or a user (`sub`), on every gateway and
   * at introspection, through the durable revocation path. Tokens issued from `graceSeconds` on are
   * not named, so a re-enabled user signs in again normally.
   */
  async function revokeTokensOf(kind: 'client' | 'sub', value: string, graceSeconds = 1): Promise<void> {
    const notBefore = Math.floor(Date.now() / 1000) + graceSeconds;
    const lifetime =
      kind === 'sub' ? Math.max(accessTokenLifetime, sessionTokenLifetime) : accessTokenLifetime;
    await idp.revocations.revoke([{ kind, value, notBefore, expiresAt: notBefore + lifetime }]);
  }

  /** End everything a user holds: every token, first-party sessions and OAuth grants (their refresh tokens). */
  const revokeEverythingOf = (userId: string, reason: string, caller: Caller): Promise<void> =>
    revokeAccount(idp, userId, reason, caller.actor);

  /**
   * A first-party session token carries the roles it was issued with, and gateways trust it until it
   * expires (hours). When a user loses a role, end their sessions (revoked on every gateway at once)
   * so that they sign in again and get the roles they hold now.
   */
  async function endSessionsAfterRoleLoss(userIds: Iterable<string>, caller: Caller): Promise<void> {
    for (const id of new Set(userIds)) await sessions.endAllOf(id, 'roles changed', { actor: caller.actor });
  }

  async function holdersOf(role: string): Promise<string[]> {
    const rows = await sql.query<{ user_id: string }>(
      `select user_id from idp_user_roles where role = $1
       union
       select gm.user_id from idp_group_members gm join idp_group_roles gr on gr.group_name = gm.group_name
       where gr.role = $1`,
      [role],
    );
    return rows.map((r) => r.user_id);
  }

  const membersOf = async (group: string) => (await accounts.roles.getGroup(group))?.members ?? [];

  const notFound = (what: string) => idpErrors.create('IDP_NOT_FOUND', `No such ${what}`);
  const noContent = (res: ServerResponse) => sendJson(res, 204, undefined);

  // method, path under the mount, handler, and the query parameters it reads (any other is refused).
  const table: Array<[string, string, Route['run'], string[]?]> = [
    [
      'GET',
      '/users',
      async ({ res, query }) => {
        const search = query.get('search') ?? undefined;
        if (search && search.length > 128) throw idpErrors.create('IDP_FIELD_TOO_LONG');
        sendJson(
          res,
          200,
          await accounts.list({
            search,
            limit: intParam(query, 'limit', 1, 500) ?? 100,
            offset: intParam(query, 'offset', 0, 1_000_000) ?? 0,
          }),
        );
      },
      ['search', 'limit', 'offset'],
    ],
    [
      'POST',
      '/users',
      async ({ req, res, caller }) => {
        const body = await jsonBody<{
          username: string;
          password: string;
          email?: string;
          enabled?: boolean;
          roles?: string[];
          groups?: string[];
        }>(req, 'CreateUser');
        sendJson(res, 201, await accounts.create(body, { actor: caller.actor }));
      },
    ],
    [
      'GET',
      '/users/{id}',
      async ({ res, params }) => {
        const user = await accounts.get(params['id']!);
        if (!user) throw notFound('user');
        sendJson(res, 200, user);
      },
    ],
    [
      'PATCH',
      '/users/{id}',
      async ({ req, res, params, caller }) => {
        const body = await jsonBody<{ email?: string | null; enabled?: boolean }>(req, 'UpdateUser');
        const user = await accounts.update(params['id']!, body, caller.actor);
        if (body.enabled === false) await revokeEverythingOf(user.id, 'disabled', caller);
        sendJson(res, 200, user);
      },
    ],
    [
      'DELETE',
      '/users/{id}',
      async ({ res, params, caller }) => {
        const user = await accounts.get(params['id']!);
        if (!user) throw notFound('user');
        await revokeEverythingOf(user.id, 'deleted', caller);
        await accounts.delete(user.id, caller.actor);
        noContent(res);
      },
    ],
    [
      'PUT',
      '/users/{id}/password',
      async ({ req, res, params, caller }) => {
        const body = await jsonBody<{ password: string }>(req, 'SetPassword');
        await accounts.setPassword(params['id']!, body.password, caller.actor);
        await revokeEverythingOf(params['id']!, 'password changed', caller);
        noContent(res);
      },
    ],
    [
      'GET',
      '/users/{id}/second-factors',
      async ({ res, params }) => {
        if (!(await accounts.get(params['id']!))) throw notFound('user');
        sendJson(res, 200, await mfaServiceOf(idp).factors.status(params['id']!));
      },
    ],
    [
      'DELETE',
      '/users/{id}/second-factors',
      async ({ res, params, caller }) => {
        if (!(await accounts.get(params['id']!))) throw notFound('user');
        if (!(await mfaServiceOf(idp).factors.reset(params['id']!, caller.actor)))
          throw notFound('second factor');
        noContent(res);
      },
    ],
    [
      'PUT',
      '/users/{id}/roles/{role}',
      async ({ res, params, caller }) => {
        if (!(await accounts.get(params['id']!))) throw notFound('user');
        await accounts.roles.assign(params['id']!, params['role']!, caller.actor);
        noContent(res);
      },
    ],
    [
      'DELETE',
      '/users/{id}/roles/{role}',
      async ({ res, params, caller }) => {
        if (!(await accounts.roles.unassign(params['id']!, params['role']!, caller.actor)))
          throw notFound('role assignment');
        await endSessionsAfterRoleLoss([params['id']!], caller);
        noContent(res);
      },
    ],
    ['GET', '/roles', async ({ res }) => sendJson(res, 200, await accounts.roles.list())],
    [
      'POST',
      '/roles',
      async ({ req, res, caller }) => {
        const body = await jsonBody<{ name: string; description?: string }>(req, 'CreateNamed');
        sendJson(res, 201, await accounts.roles.create(body.name, body.description, caller.actor));
      },
    ],
    [
      'DELETE',
      '/roles/{name}',
      async ({ res, params, caller }) => {
        const holders = await holdersOf(params['name']!);
        if (!(await accounts.roles.delete(params['name']!, caller.actor))) throw notFound('role');
        await endSessionsAfterRoleLoss(holders, caller);
        noContent(res);
      },
    ],
    ['GET', '/groups', async ({ res }) => sendJson(res, 200, await accounts.roles.listGroups())],
    [
      'POST',
      '/groups',
      async ({ req, res, caller }) => {
        const body = await jsonBody<{ name: string; description?: string }>(req, 'CreateNamed');
        sendJson(res, 201, await accounts.roles.createGroup(body.name, body.description, caller.actor));
      },
    ],
    [
      'GET',
      '/groups/{name}',
      async ({ res, params }) => {
        const group = await accounts.roles.getGroup(params['name']!);
        if (!group) throw notFound('group');
        sendJson(res, 200, group);
      },
    ],
    [
      'DELETE',
      '/groups/{name}',
      async ({ res, params, caller }) => {
        const members = await membersOf(params['name']!);
        if (!(await accounts.roles.deleteGroup(params['name']!, caller.actor))) throw notFound('group');
        await endSessionsAfterRoleLoss(members, caller);
        noContent(res);
      },
    ],
    [
      'PUT',
      '/groups/{name}/members/{userId}',
      async ({ res, params, caller }) => {
        if (!(await accounts.get(params['userId']!))) throw notFound('user');
        await accounts.roles.addMember(params['name']!, params['userId']!, caller.actor);
        noContent(res);
      },
    ],
    [
      'DELETE',
      '/groups/{name}/members/{userId}',
      async ({ res, params, caller }) => {
        if (!(await accounts.roles.removeMember(params['name']!, params['userId']!, caller.actor)))
          throw notFound('member');
        await endSessionsAfterRoleLoss([params['userId']!], caller);
        noContent(res);
      },
    ],
    [
      'PUT',
      '/groups/{name}/roles/{role}',
      async ({ res, params, caller }) => {
        await accounts.roles.addGroupRole(params['name']!, params['role']!, caller.actor);
        noContent(res);
      },
    ],
    [
      'DELETE',
      '/groups/{name}/roles/{role}',
      async ({ res, params, caller }) => {
        if (!(await accounts.roles.removeGroupRole(params['name']!, params['role']!, caller.actor)))
          throw notFound('group role');
        await endSessionsAfterRoleLoss(await membersOf(params['name']!), caller);
        noContent(res);
      },
    ],
    ['GET', '/clients', async ({ res }) => sendJson(res, 200, await listClients(sql))],
    [
      'GET',
      '/clients/{clientId}',
      async ({ res, params }) => {
        const found = (await listClients(sql)).find((c) => c.clientId === params['clientId']);
        if (!found) throw notFound('client');
        sendJson(res, 200, found);
      },
    ],
    [
      'POST',
      '/clients',
      async ({ req, res, caller }) => {
        const body = await jsonBody<IdpClientConfig>(req, 'CreateClient');
        const confidential = ['client_secret_basic', 'client_secret_post'].includes(
          body.tokenEndpointAuthMethod,
        );
        const secret =
          confidential && !body.clientSecret && !body.clientSecretSha256 ? generateClientSecret() : undefined;
        const metadata = clientMetadataFromConfig(secret ? { ...body, clientSecret: secret } : body);
        if (await clientExists(sql, metadata.client_id))
          throw idpErrors.create('IDP_ALREADY_EXISTS', 'Client exists');
        try {
          await validateClientMetadata(idp.provider(), metadata);
        } catch (cause) {
          const detail = (cause as { error_description?: string }).error_description ?? 'invalid metadata';
          throw idpErrors.create('IDP_CLIENT_INVALID', detail, { cause });
        }
        await upsertClient(sql, metadata, 'admin');
        await change(caller, metadata.client_id, 'client.create');
        const { client_secret: _hidden, ...shown } = metadata;
        sendJson(res, 201, {
          client: { clientId: metadata.client_id, source: 'admin', metadata: shown },
          ...(secret ? { clientSecret: secret } : {}),
        });
      },
    ],
    [
      'PATCH',
      '/clients/{clientId}',
      async ({ req, res, params, caller }) => {
        const body = await jsonBody<{ enabled: boolean }>(req, 'UpdateClient');
        const id = params['clientId']!;
        if (!(await setClientEnabled(sql, id, body.enabled))) throw notFound('client');
        if (!body.enabled) await revokeTokensOf('client', id, CLIENT_GONE_GRACE_SECONDS);
        await change(caller, id, body.enabled ? 'client.enable' : 'client.disable');
        sendJson(
          res,
          200,
          (await listClients(sql)).find((c) => c.clientId === id),
        );
      },
    ],
    [
      'DELETE',
      '/clients/{clientId}',
      async ({ res, params, caller }) => {
        if (!(await deleteClient(sql, params['clientId']!))) throw notFound('client');
        await revokeTokensOf('client', params['clientId']!, CLIENT_GONE_GRACE_SECONDS);
        await change(caller, params['clientId']!, 'client.delete');
        noContent(res);
      },
    ],
    [
      'POST',
      '/clients/{clientId}/secret',
      async ({ res, params, query, caller }) => {
        const revokeTokens = query.get('revokeTokens');
        if (revokeTokens !== null && revokeTokens !== 'true' && revokeTokens !== 'false') {
          throw idpErrors.create('IDP_FIELD_INVALID', 'Query parameter revokeTokens must be true or false');
        }
        const clientSecret = await rotateClientSecret(sql, params['clientId']!);
        // A leaked secret: the tokens obtained with it go too.
        if (revokeTokens === 'true') await revokeTokensOf('client', params['clientId']!);
        await change(caller, params['clientId']!, 'client.secret.rotate', {
          revokeTokens: revokeTokens === 'true',
        });
        sendJson(res, 200, { clientSecret });
      },
      ['revokeTokens'],
    ],
    [
      'GET',
      '/sessions',
      async ({ res, query }) => {
        const active = query.get('active');
        if (active !== null && active !== 'true' && active !== 'false') {
          throw idpErrors.create('IDP_FIELD_INVALID', 'Query parameter active must be true or false');
        }
        sendJson(
          res,
          200,
          await sessions.list({
            userId: query.get('userId') ?? undefined,
            activeOnly: active === 'true',
            limit: intParam(query, 'limit', 1, 500),
          }),
        );
      },
      ['userId', 'active', 'limit'],
    ],
    [
      'DELETE',
      '/sessions/{sid}',
      async ({ req, res, params, caller }) => {
        const ended = await sessions.end(params['sid']!, 'revoked by admin', {
          actor: caller.actor,
          // The admin's address, not the gateway's: the same rule as every other audit event.
          sourceIp: clientAddress(req, trusted),
        });
        if (!ended) throw notFound('active session');
        noContent(res);
      },
    ],
    ['GET', '/keys', async ({ res }) => sendJson(res, 200, await idp.keys.list())],
    [
      'POST',
      '/keys/rotate',
      async ({ res, caller }) => {
        const result = await idp.keys.rotate();
        await change(caller, result.activated ?? 'keys', 'keys.rotate', {
          activated: result.activated,
          retired: result.retired,
        });
        sendJson(res, 200, result);
      },
    ],
    [
      'GET',
      '/audit',
      async ({ res, query }) => {
        for (const key of ['type', 'actor', 'subject', 'clientId']) {
          if ((query.get(key) ?? '').length > 256) throw idpErrors.create('IDP_FIELD_TOO_LONG');
        }
        sendJson(
          res,
          200,
          await audit.query({
            type: (query.get('type') ?? undefined) as AuditEventType | undefined,
            actor: query.get('actor') ?? undefined,
            subject: query.get('subject') ?? undefined,
            clientId: query.get('clientId') ?? undefined,
            since: dateParam(query, 'since'),
            until: dateParam(query, 'until'),
            beforeId: intParam(query, 'beforeId', 0, Number.MAX_SAFE_INTEGER),
            limit: intParam(query, 'limit', 1, 500),
          }),
        );
      },
      ['type', 'actor', 'subject', 'clientId', 'since', 'until', 'beforeId', 'limit'],
    ],
    // Upstream identity providers and linked identities (brokering/).
    ...adminApiBrokering(idp),
    // The LDAP directory people sign in with (directory/).
    ...adminApiDirectory(idp),
  ];
  const routes: Route[] = table.map(([method, path, run, query]) => ({
    method,
    ...compile(path),
    run,
    query: query ?? [],
  }));

  return async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://admin.invalid');
      if (!url.pathname.startsWith(`${mount}/`)) throw coreErrors.create('GH_NOT_FOUND');
      const path = url.pathname.slice(mount.length);
      if (path === '/openapi.json') {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, { headers: { allow: 'GET' } });
        }
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(openApi),
        });
        res.end(openApi);
        return;
      }
      const matching = routes.filter((r) => r.pattern.test(path));
      if (matching.length === 0) throw coreErrors.create('GH_NOT_FOUND');
      const route = matching.find((r) => r.method === req.method);
      if (!route) {
        throw coreErrors.create('GH_METHOD_NOT_ALLOWED', undefined, {
          headers: { allow: matching.map((r) => r.method).join(', ') },
        });
      }
      const caller = await authenticate(req);
      const values = route.pattern.exec(path)!.slice(1);
      const params: Params = {};
      route.keys.forEach((key, i) => {
        let value: string;
        try {
          value = decodeURIComponent(values[i]!);
        } catch {
          throw coreErrors.create('GH_BAD_REQUEST', 'Malformed path');
        }
        if (value.length > 256)
          throw idpErrors.create('IDP_FIELD_TOO_LONG', `Path parameter ${key} is too long`);
        if (controlCharacter.test(value) || pathSeparator.test(value)) {
          throw idpErrors.create('IDP_FIELD_INVALID', `Path parameter ${key} has an invalid value`);
        }
        params[key] = value;
      });
      checkQuery(url.searchParams, route.query);
      await route.run({ req, res, params, query: url.searchParams, caller });
    } catch (err) {
      if (!req.complete) req.resume();
      const status = (err as { status?: number }).status;
      if (typeof status === 'number' && status < 500) {
        logger.info({ code: (err as { code?: string }).code, method: req.method }, 'admin request refused');
      } else {
        logger.error({ err }, 'admin request failed');
      }
      sendError(res, err);
    }
  };
}
