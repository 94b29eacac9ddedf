import { sdkError } from './errors.ts';

// RFC 6750 §2.1: `Bearer 1*SP b64token`; the scheme is case-insensitive (RFC 7235 §2.1).
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The token of an `Authorization: Bearer <token>` header.
 * Absent or empty → SDK_TOKEN_MISSING; anything else that is not exactly one bearer token
 * (another scheme, several headers, several tokens, stray characters) → SDK_TOKEN_MALFORMED.
 */
export function parseBearer(authorizationHeader: string | string[] | undefined | null): string {
  if (authorizationHeader === undefined || authorizationHeader === null || authorizationHeader === '') {
    throw sdkError('SDK_TOKEN_MISSING');
  }
  if (typeof authorizationHeader !== 'string') {
    throw sdkError('SDK_TOKEN_MALFORMED', 'Exactly one Authorization header is accepted');
  }
  const match = BEARER.exec(authorizationHeader);
  if (!match?.[1]) {
    throw sdkError('SDK_TOKEN_MALFORMED', 'The Authorization header must be "Bearer <token>"');
  }
  return match[1];
}
