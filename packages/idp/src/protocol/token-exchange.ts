import type { Logger, Sql } from '@gatehouse/core';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { TOKEN_EXCHANGE_GRANT } from '../config-schema.ts';
import { clientPolicy } from './clients.ts';
import { type Actor, setExchangedTokenClaims } from './exchange-claims.ts';
import { type JwtTokenOptions, verifyAccessToken } from './jwt-tokens.ts';
import { newGrantAccessToken } from './oidc-provider-internals.ts';
import type { AccountsPort } from './provider.ts';

/**
 * Token exchange (RFC 8693) as a grant added to oidc-provider, which has none: a service that
 * received a user's access token trades it for a narrower one to call another service on the
 * user's behalf (delegation).
 *
 * - Only confidential clients that list the grant type (oidc-provider checks the latter).
 * - The subject token must be one of our JWT access tokens: signature with our keys, `typ`, issuer,
 *   expiry and the revocation list (verifyAccessToken), and name an account that is still active.
 *   Anything else → `invalid_grant`.
 * - The target (`resource` or `audience`, one value) must be a resource the calling client lists in
 *   its `resources` metadata → else `invalid_target`.
 * - The scope is a subset of the subject token's scope ∩ the scopes the client lists for the
 *   target; asking for more → `invalid_scope`. An exchanged token exchanged again can only narrow.
 * - The new token: `sub` the user, `act: { sub: <calling client> }` with the subject token's own
 *   `act` nested inside, the subject's `sid` (a logout revokes it too), and an expiry no later than
 *   the subject token's. When the subject token was issued in a grant, the new one is recorded under
 *   the same grant, so revoking the grant revokes it.
 */

export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

const PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'actor_token',
  'actor_token_type',
  'resource',
  'audience',
  'scope',
];

/** A delegation chain longer than this is refused: `act` must not grow without bound. */
const MAX_ACT_DEPTH = 8;

export interface TokenExchangeOptions
  extends Pick<JwtTokenOptions, 'issuer' | 'keys' | 'revocations' | 'clockToleranceSeconds'> {
  sql: Sql;
  accounts: () => AccountsPort | undefined;
  /** Signing algorithm of access tokens (idp.signingAlgorithm). */
  alg: string;
  accessTokenTtlSeconds: number;
  logger: Logger;
}

/** A valid `act` claim (RFC 8693 §4.1) of at most `depth` levels, or undefined. */
function actorChain(value: unknown, depth = 1): Actor | undefined | false {
  if (value === undefined) return undefined;
  if (depth > MAX_ACT_DEPTH || value === null || typeof value !== 'object') return false;
  const { sub, act } = value as { sub?: unknown; act?: unknown };
  if (typeof sub !== 'string' || sub === '') return false;
  const inner = actorChain(act, depth + 1);
  if (inner === false) return false;
  return inner === undefined ? { sub } : { sub, act: inner };
}

const words = (s: unknown): string[] => (typeof s === 'string' ? s.split(' ').filter(Boolean) : []);

export function registerTokenExchange(provider: Provider, options: TokenExchangeOptions): void {
  const { sql, accounts, logger } = options;

  async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const client = ctx.oidc.client!;
    if (client.clientAuthMethod === 'none') {
      throw new errors.UnauthorizedClient('public clients cannot exchange tokens');
    }
    const p = ctx.oidc.params as Record<string, unknown>;
    if (typeof p['subject_token'] !== 'string' || p['subject_token'] === '') {
      throw new errors.InvalidRequest("missing required parameter 'subject_token'");
    }
    if (p['subject_token_type'] !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('subject_token_type must be an access token');
    }
    if (p['requested_token_type'] !== undefined && p['requested_token_type'] !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest('only access tokens can be requested');
    }
    if (p['actor_token'] !== undefined || p['actor_token_type'] !== undefined) {
      // The actor is the authenticated client itself; a separate actor token is not supported.
      throw new errors.InvalidRequest('actor_token is not supported');
    }

    const targets = [...new Set([p['resource'], p['audience']].filter((v) => v !== undefined))];
    if (targets.length === 0) throw new errors.InvalidTarget('resource or audience is required');
    if (targets.length > 1 || typeof targets[0] !== 'string') {
      throw new errors.InvalidTarget('only a single resource indicator value is supported');
    }
    const target = targets[0];
    const allowed = clientPolicy(client).resources[target];
    if (!allowed) throw new errors.InvalidTarget('the client may not ask for this resource');

    const subject = await verifyAccessToken(p['subject_token'], options);
    if (!subject || typeof subject.sub !== 'string') {
      throw new errors.InvalidGrant('subject token is invalid, expired or revoked');
    }
    const inner = actorChain(subject['act']);
    if (inner === false) throw new errors.InvalidGrant('subject token has an invalid act claim');
    const account = await accounts()?.findAccount(ctx, subject.sub, undefined);
    if (!account) throw new errors.InvalidGrant('subject token does not name an active account');

    const subjectScopes = new Set(words(subject.scope));
    const permitted = allowed.filter((s) => subjectScopes.has(s));
    const requested = p['scope'] === undefined ? permitted : words(p['scope']);
    for (const s of requested) {
      if (!permitted.includes(s)) throw new errors.InvalidScope('requested scope is not allowed', s);
    }
    if (requested.length === 0) {
      throw new errors.InvalidScope('no scope of the subject token may be passed to this resource', '');
    }

    const now = Math.floor(Date.now() / 1000);
    const expiresIn = Math.max(1, Math.min(options.accessTokenTtlSeconds, subject.exp - now));
    const grants = await sql.query<{ grant_id: string }>(
      'select grant_id from idp_jwt_access_tokens where jti = $1',
      [subject.jti],
    );
    const token = newGrantAccessToken(ctx, {
      accountId: subject.sub,
      client,
      scope: [...new Set(requested)].join(' '),
      gty: 'token_exchange',
      expiresIn,
      grantId: grants[0]?.grant_id,
      resource: { indicator: target, scope: allowed.join(' '), alg: options.alg },
    });
    const act: Actor = inner ? { sub: client.clientId, act: inner } : { sub: client.clientId };
    setExchangedTokenClaims(token, {
      act,
      ...(typeof subject.sid === 'string' ? { sid: subject.sid } : {}),
    });
    const value = await token.save();
    logger.info({ clientId: client.clientId, audience: target }, 'token exchanged');
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope: token.scope,
    };
  }

  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, tokenExchange, PARAMETERS);
}
