import type { IncomingHttpHeaders } from 'node:http';
import { GatehouseError, readCookie, withoutCookies } from '@gatehouse/core';
import { isSdkError, SESSION_COOKIE, sdkError, type Verifier } from '@gatehouse/sdk';
import type { Principal } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';

const REALM = 'Bearer realm="gatehouse"';

export interface AuthenticateOptions {
  sessionCookie: boolean;
  clientCertificateThumbprint?: string | undefined;
  /** BFF: the stored access token of the browser session the Cookie header names, if any. */
  browserSession?: ((cookie: string | undefined) => Promise<string | undefined>) | undefined;
}

/**
 * Who is calling: a bearer access token, else the BFF browser session (when enabled), else (when
 * enabled) the first-party session cookie.
 * Verification is the sdk verifier's, so the gateway and services apply one set of rules and
 * answer with the same codes (SDK_TOKEN_EXPIRED, SDK_ALG_NOT_ALLOWED, ...).
 * Returns undefined when no credential is present; throws a 401 error when one is present but bad.
 */
export async function authenticate(
  headers: IncomingHttpHeaders,
  verifier: Pick<Verifier, 'verifyAccessToken' | 'verifyAuthorization' | 'verifySessionToken'>,
  options: AuthenticateOptions,
): Promise<Principal | undefined> {
  try {
    if (headers.authorization !== undefined) {
      return await verifier.verifyAuthorization(headers.authorization, {
        clientCertificateThumbprint: options.clientCertificateThumbprint,
      });
    }
    if (options.browserSession) {
      const stored = await options.browserSession(headers.cookie);
      if (stored !== undefined) return await verifier.verifyAccessToken(stored);
    }
    if (!options.sessionCookie) return undefined;
    const session = sessionCookieOf(headers.cookie);
    if (session === undefined) return undefined;
    return await verifier.verifySessionToken(session);
  } catch (err) {
    throw toGatewayError(err);
  }
}

/** 401 for a request that presented no credential at all (RFC 6750 §3.1: no error code). */
export function unauthenticated(): GatehouseError {
  return toGatewayError(sdkError('SDK_TOKEN_MISSING'));
}

/**
 * The verifier's error as a response: same code, status and message; the challenge gets the
 * gateway's realm in front.
 */
export function toGatewayError(err: unknown): GatehouseError {
  if (err instanceof GatehouseError) return err;
  if (!isSdkError(err)) return gatewayErrors.create('GW_INTERNAL', undefined, { cause: err });
  const headers: Record<string, string> = { ...err.headers };
  const challenge = headers['www-authenticate'];
  if (challenge !== undefined) {
    const params = challenge.replace(/^Bearer\s*/, '');
    headers['www-authenticate'] = params ? `${REALM}, ${params}` : REALM;
  }
  return new GatehouseError(err.code, err.status, err.message, { headers, cause: err });
}

/**
 * The session cookie's value. Several cookies of that name (one set by a sibling subdomain, say)
 * are ambiguous and refused rather than guessed between.
 */
export function sessionCookieOf(cookie: string | undefined): string | undefined {
  const read = readCookie(cookie, SESSION_COOKIE);
  if (read.kind === 'repeated') throw sdkError('SDK_TOKEN_MALFORMED', 'The session cookie is repeated');
  return read.kind === 'one' ? read.value : undefined;
}

const SESSION_COOKIE_ONLY: ReadonlySet<string> = new Set([SESSION_COOKIE]);

/** The Cookie header without the session cookie, so an upstream never receives the credential. */
export function withoutSessionCookie(cookie: string | string[] | number | undefined): string | undefined {
  return withoutCookies(cookie, SESSION_COOKIE_ONLY);
}
