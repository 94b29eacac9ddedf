import type { Logger } from '@gatehouse/core';
import { decodeProtectedHeader, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { RevocationPublisher } from '../revocation/revocation-publisher.ts';
import { clientAllowsOrigin } from './clients.ts';
import { bearerRefusal, handReadBodyOn, isStructuredTokenRefusal } from './oidc-provider-internals.ts';
import type { AccountsPort } from './provider.ts';
import { CLAIMS_BY_SCOPE } from './scope-claims.ts';
import { introspectionAllowed, revocationAllowed } from './token-policies.ts';

/**
 * Introspection (RFC 7662), revocation (RFC 7009) and userinfo for JWT access tokens.
 *
 * oidc-provider does not store JWT access tokens and deliberately refuses them at its introspection
 * and revocation endpoints (`unsupported_token_type`), and its userinfo endpoint only accepts the
 * tokens it stores. Gatehouse issues JWTs for every grant, so this middleware completes those three
 * endpoints for JWTs, after oidc-provider has authenticated the client (client authentication stays
 * oidc-provider's): a JWT is verified with the provider's own keys and checked against the
 * revocation list; revoking one records its `jti` until its `exp` and fans it out to the gateways.
 * Who may introspect or revoke what is the same policy oidc-provider applies to its own tokens
 * (token-policies.ts), and userinfo refuses a token as oidc-provider's endpoint does (oidc-provider-internals.ts).
 */

export interface JwtTokenOptions {
  issuer: string;
  /** The provider's current verification keys (changes with rotation). */
  keys: () => JWTVerifyGetKey;
  revocations: RevocationPublisher;
  accounts: () => AccountsPort | undefined;
  clockToleranceSeconds: number;
  logger: Logger;
  /** The userinfo route relative to the issuer (oidc-provider's `routes.userinfo`). */
  userinfoPath: string;
  /** The provider's client lookup: the CORS rule of the token's client applies to userinfo. */
  findClient?: (clientId: string) => Promise<Parameters<typeof clientAllowsOrigin>[0] | undefined>;
}

export interface AccessTokenClaims extends JWTPayload {
  jti: string;
  exp: number;
  client_id: string;
  scope?: string;
  sid?: string;
}

export function looksLikeJwt(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 16384) return false;
  try {
    return !!decodeProtectedHeader(value);
  } catch {
    return false;
  }
}

/**
 * Verify an access token issued by this provider: signature with our keys, `typ: at+jwt`, issuer,
 * expiry, and not revoked (by `jti`, `sid`, or its client or subject). undefined when any check fails.
 */
export async function verifyAccessToken(
  token: string,
  options: Pick<JwtTokenOptions, 'issuer' | 'keys' | 'revocations' | 'clockToleranceSeconds'>,
): Promise<AccessTokenClaims | undefined> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, options.keys(), {
      issuer: options.issuer,
      typ: 'at+jwt',
      algorithms: ['ES256', 'EdDSA'],
      clockTolerance: options.clockToleranceSeconds,
      requiredClaims: ['jti', 'exp', 'iat', 'client_id'],
    }));
  } catch {
    return undefined;
  }
  const claims = payload as AccessTokenClaims;
  if (typeof claims.jti !== 'string' || typeof claims.client_id !== 'string') return undefined;
  const revoked = await options.revocations.isTokenRevoked({
    jti: claims.jti,
    sid: typeof claims.sid === 'string' ? claims.sid : undefined,
    clientId: claims.client_id,
    sub: typeof claims.sub === 'string' ? claims.sub : undefined,
    issuedAt: typeof claims.iat === 'number' ? claims.iat : undefined,
  });
  return revoked ? undefined : claims;
}

const STRUCTURED = Symbol('gatehouse.structuredTokenRefused');

/** Mark a request whose JWT oidc-provider refused as structured (wired to its error events). */
export function markStructuredTokenRefusal(ctx: KoaContextWithOIDC, err: { error?: string }): void {
  if (isStructuredTokenRefusal(err)) (ctx.state as Record<symbol, boolean>)[STRUCTURED] = true;
}

type Next = () => Promise<unknown>;

/** The body, or undefined past 16 KiB (a userinfo request carries one token). */
async function readSmallBody(req: AsyncIterable<unknown>): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Koa middleware to `provider.use()`. */
export function jwtTokenMiddleware(options: JwtTokenOptions) {
  const { logger } = options;

  function refuse(ctx: KoaContextWithOIDC, err: errors.InvalidToken | errors.InsufficientScope): void {
    const refusal = bearerRefusal(options.issuer, err);
    ctx.status = refusal.status;
    ctx.set('www-authenticate', refusal.challenge);
    ctx.body = refusal.body;
  }

  async function userinfo(ctx: KoaContextWithOIDC, token: string): Promise<void> {
    ctx.set('cache-control', 'no-store');
    const claims = await verifyAccessToken(token, options);
    if (!claims) return refuse(ctx, new errors.InvalidToken('access token not found'));
    const scopes = (claims.scope ?? '').split(' ').filter(Boolean);
    if (!scopes.includes('openid') || typeof claims.sub !== 'string' || claims.sub === claims.client_id) {
      return refuse(ctx, new errors.InsufficientScope('access token missing openid scope', 'openid'));
    }
    const account = await options.accounts()?.findAccount(ctx, claims.sub, undefined);
    if (!account) return refuse(ctx, new errors.InvalidToken('associated account not found'));
    // oidc-provider's clientBasedCORS does not see this route: the same rule, for the token's client.
    const origin = ctx.get('origin');
    if (origin) {
      const client = await options.findClient?.(claims.client_id);
      if (client && clientAllowsOrigin(client, origin)) {
        ctx.set('access-control-allow-origin', origin);
        ctx.vary('Origin');
      }
    }
    const released = new Set(scopes.flatMap((s) => CLAIMS_BY_SCOPE[s] ?? []));
    const all = await account.claims('userinfo', scopes.join(' '), {}, []);
    const body: Record<string, unknown> = { sub: claims.sub };
    for (const [k, v] of Object.entries(all))
      if (released.has(k) && k !== 'sub' && v !== undefined) body[k] = v;
    ctx.status = 200;
    ctx.body = body;
  }

  async function introspect(ctx: KoaContextWithOIDC, token: string): Promise<void> {
    const caller = ctx.oidc.client!;
    const claims = await verifyAccessToken(token, options);
    ctx.status = 200;
    ctx.set('cache-control', 'no-store');
    if (!claims || !introspectionAllowed({ client: caller, token: { clientId: claims.client_id } })) {
      ctx.body = { active: false };
      return;
    }
    const body: Record<string, unknown> = {
      active: true,
      token_type: 'Bearer',
      client_id: claims.client_id,
      sub: claims.sub,
      scope: claims.scope,
      aud: claims.aud,
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
    };
    for (const k of ['sid', 'username', 'roles'] as const) if (claims[k] !== undefined) body[k] = claims[k];
    ctx.body = body;
  }

  async function revoke(ctx: KoaContextWithOIDC, token: string): Promise<void> {
    const caller = ctx.oidc.client!;
    const claims = await verifyAccessToken(token, options);
    let allowed = false;
    try {
      allowed =
        claims !== undefined && revocationAllowed({ client: caller, token: { clientId: claims.client_id } });
    } catch (err) {
      const refused = err as errors.InvalidRequest;
      ctx.status = refused.statusCode;
      ctx.body = { error: refused.error, error_description: refused.error_description };
      return;
    }
    if (claims && allowed) {
      await options.revocations.revoke([{ kind: 'jti', value: claims.jti, expiresAt: claims.exp }]);
      logger.info({ clientId: caller.clientId, jti: claims.jti }, 'access token revoked by its client');
    }
    // RFC 7009 2.2: an invalid or unknown token is not an error.
    ctx.status = 200;
    ctx.body = '';
  }

  return async function jwtTokens(ctx: KoaContextWithOIDC, next: Next): Promise<void> {
    if (ctx.path === options.userinfoPath && (ctx.method === 'GET' || ctx.method === 'POST')) {
      const auth = ctx.get('authorization');
      let bearer = /^Bearer ([^\s]+)$/i.exec(auth)?.[1];
      if (!auth && ctx.method === 'POST' && ctx.is('application/x-www-form-urlencoded')) {
        // RFC 6750 2.2: the token may come in the form body. Read it here; oidc-provider then uses
        // the already read body (req.body) when the token is not one of ours.
        const raw = await readSmallBody(ctx.req);
        if (raw === undefined) {
          ctx.status = 413;
          ctx.body = { error: 'invalid_request', error_description: 'request body is too large' };
          return;
        }
        handReadBodyOn(ctx.req, raw);
        const fromBody = new URLSearchParams(raw.toString('utf8')).getAll('access_token');
        if (fromBody.length === 1) bearer = fromBody[0];
      }
      if (bearer && looksLikeJwt(bearer)) {
        await userinfo(ctx, bearer);
        return;
      }
    }
    await next();
    if (!(ctx.state as Record<symbol, boolean>)[STRUCTURED]) return;
    const route = ctx.oidc.route;
    const token = ctx.oidc.params?.['token'];
    if (!ctx.oidc.client || !looksLikeJwt(token)) return;
    if (route === 'introspection') await introspect(ctx, token);
    else if (route === 'revocation') await revoke(ctx, token);
  };
}
