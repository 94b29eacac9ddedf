import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  createLocalJWKSet,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
  SignJWT,
} from 'jose';
import { parseCompactJws } from './compact-jws.ts';
import { isSdkError, sdkError } from './errors.ts';
import { encodeIdentityValue, encodeRolesHeader, encodeScopesHeader } from './identity-header-encoding.ts';
import { remoteKeySource } from './jwks-key-source.ts';
import type { Principal } from './principal.ts';
import { IDENTITY_HEADER } from './wire-contract.ts';

/**
 * The gateway's signed internal assertion (docs/sdk/gateway-trust.md): a short-lived JWT in header
 * `X-Gatehouse-Assertion` that vouches for the identity headers of one request to one service.
 */
export const ASSERTION_HEADER = IDENTITY_HEADER.assertion;
export const ASSERTION_TYP = 'gh-assertion+jwt';
/** Longest lifetime a service accepts (`exp - iat`), so a leaked assertion is worth little. */
export const MAX_ASSERTION_LIFETIME_SEC = 60;
const CLOCK_TOLERANCE_SEC = 5;
const MAX_ASSERTION_LENGTH = 8192;

/** What the gateway vouches for; the gateway's principal fits as it is. */
export type AssertedPrincipal = Pick<
  Principal,
  'kind' | 'subject' | 'clientId' | 'username' | 'roles' | 'scopes' | 'sessionId' | 'tokenId' | 'expiresAt'
>;

export interface AssertionSignerOptions {
  /** `iss` of every assertion: the gateway's name, e.g. "gatehouse-gateway". */
  issuer: string;
  privateKey: CryptoKey | KeyObject | JWK | Uint8Array;
  kid: string;
  /** Default ES256. */
  alg?: 'ES256' | 'EdDSA' | 'Ed25519';
  /** Default 30, at most 60. */
  ttlSec?: number;
}

export interface AssertionInput {
  principal: AssertedPrincipal;
  /** The service it is meant for (`aud`), as configured on the route. */
  audience: string;
  /** Request method and path as the service receives them (after any prefix strip, no query). */
  method: string;
  path: string;
}

/** For the gateway: sign one assertion per forwarded request. */
export function createAssertionSigner(options: AssertionSignerOptions): {
  sign(input: AssertionInput): Promise<string>;
} {
  const ttl = options.ttlSec ?? 30;
  if (!(ttl > 0 && ttl <= MAX_ASSERTION_LIFETIME_SEC)) {
    throw new TypeError(`ttlSec must be between 1 and ${MAX_ASSERTION_LIFETIME_SEC}`);
  }
  const alg = options.alg ?? 'ES256';
  return {
    sign({ principal, audience, method, path }) {
      const now = Math.floor(Date.now() / 1000);
      const claims: JWTPayload = {
        kind: principal.kind,
        client_id: principal.clientId,
        roles: principal.roles,
        scope: principal.scopes.join(' '),
        htm: method.toUpperCase(),
        htu: path,
        token_jti: principal.tokenId,
        token_exp: principal.expiresAt,
      };
      if (principal.username !== undefined) claims['username'] = principal.username;
      if (principal.sessionId !== undefined) claims['sid'] = principal.sessionId;
      return new SignJWT(claims)
        .setProtectedHeader({ alg, typ: ASSERTION_TYP, kid: options.kid })
        .setIssuer(options.issuer)
        .setAudience(audience)
        .setSubject(principal.subject)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + ttl)
        .sign(options.privateKey);
    },
  };
}

export interface AssertionTrustOptions {
  /** The gateway's `iss`. */
  issuer: string;
  /** This service's name: the `aud` the gateway signs for it. */
  audience: string;
  /** The gateway's public keys: inline, or fetched from a URL, or a jose key resolver. */
  jwks?: JSONWebKeySet;
  jwksUri?: string;
  getKey?: JWTVerifyGetKey;
  /** Default ['ES256', 'EdDSA']. */
  algorithms?: string[];
}

export interface AssertedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  header(name: string): string | string[] | undefined;
}

function stringClaim(payload: JWTPayload, name: string, required: boolean): string | undefined {
  const value = payload[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string')
    throw sdkError('SDK_ASSERTION_INVALID', `The assertion "${name}" claim is invalid`);
  return value;
}

/** The identity headers, when present, must say what the assertion says. */
function checkHeader(req: AssertedRequest, name: string, expected: string | undefined): void {
  const value = req.header(name);
  if (value === undefined) return;
  if (value !== (expected ?? '')) {
    throw sdkError('SDK_ASSERTION_INVALID', `The ${name} header does not match the gateway assertion`);
  }
}

/** For a service: check the assertion of one request and return who it vouches for. */
export function createAssertionVerifier(
  options: AssertionTrustOptions,
): (req: AssertedRequest) => Promise<Principal> {
  const algorithms = options.algorithms ?? ['ES256', 'EdDSA'];
  const getKey =
    options.getKey ??
    (options.jwks ? createLocalJWKSet(options.jwks) : undefined) ??
    (options.jwksUri ? remoteKeySource(options.jwksUri, 30_000) : undefined);
  if (!getKey) throw new TypeError('assertion trust needs jwks, jwksUri or getKey');
  const headerRules = {
    algorithms: new Set(algorithms),
    maxTokenLength: MAX_ASSERTION_LENGTH,
    typ: ASSERTION_TYP,
  };

  return async (req) => {
    const assertion = req.header(ASSERTION_HEADER);
    if (typeof assertion !== 'string' || assertion === '') throw sdkError('SDK_ASSERTION_INVALID');
    let payload: JWTPayload;
    try {
      parseCompactJws(assertion, headerRules);
      ({ payload } = await jwtVerify(assertion, getKey, {
        algorithms,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: CLOCK_TOLERANCE_SEC,
        requiredClaims: ['exp', 'iat', 'jti', 'sub'],
      }));
    } catch (cause) {
      if (isSdkError(cause, 'SDK_JWKS_UNAVAILABLE')) throw cause;
      // One code for every other failure: the caller is not the gateway, whatever the detail.
      throw sdkError('SDK_ASSERTION_INVALID', undefined, { cause });
    }
    const iat = payload.iat as number;
    const exp = payload.exp as number;
    if (exp - iat > MAX_ASSERTION_LIFETIME_SEC)
      throw sdkError('SDK_ASSERTION_INVALID', 'The assertion lives too long');
    if (payload['htm'] !== req.method.toUpperCase() || payload['htu'] !== req.path) {
      throw sdkError('SDK_ASSERTION_INVALID', 'The assertion was made for another request');
    }
    const kind = payload['kind'];
    if (kind !== 'user' && kind !== 'service')
      throw sdkError('SDK_ASSERTION_INVALID', 'The assertion "kind" is invalid');
    const roles = payload['roles'];
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
      throw sdkError('SDK_ASSERTION_INVALID', 'The assertion "roles" claim is invalid');
    }
    const subject = payload.sub as string;
    const clientId = stringClaim(payload, 'client_id', true) as string;
    const scope = stringClaim(payload, 'scope', true) as string;
    const username = stringClaim(payload, 'username', false);
    const sessionId = stringClaim(payload, 'sid', false);
    const tokenId = stringClaim(payload, 'token_jti', true) as string;
    const tokenExp = payload['token_exp'];
    if (typeof tokenExp !== 'number')
      throw sdkError('SDK_ASSERTION_INVALID', 'The assertion "token_exp" is invalid');

    // The headers must read exactly as the gateway writes these claims (identity-header-encoding.ts).
    checkHeader(req, IDENTITY_HEADER.userId, encodeIdentityValue(subject));
    checkHeader(
      req,
      IDENTITY_HEADER.userName,
      username === undefined ? undefined : encodeIdentityValue(username),
    );
    checkHeader(req, IDENTITY_HEADER.userRoles, encodeRolesHeader(roles));
    checkHeader(req, IDENTITY_HEADER.clientId, encodeIdentityValue(clientId));
    checkHeader(req, IDENTITY_HEADER.scopes, encodeScopesHeader(scope.split(' ').filter((s) => s !== '')));

    const principal: Principal = {
      kind,
      subject,
      clientId,
      roles: [...roles],
      scopes: scope.split(' ').filter((s) => s !== ''),
      audience: [options.audience],
      tokenId,
      expiresAt: tokenExp,
      claims: payload,
    };
    if (username !== undefined) principal.username = username;
    if (sessionId !== undefined) principal.sessionId = sessionId;
    return principal;
  };
}
