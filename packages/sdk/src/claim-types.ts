import { sdkError } from './errors.ts';

/** 9999-12-31T23:59:59Z: the last instant RFC 3339 can write; a time past it is not a real date. */
const MAX_NUMERIC_DATE = 253_402_300_799;
const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const;
/** Registered claims whose value is a string (RFC 7519 §4.1, RFC 9068 §2.2, RFC 8693 §4.2, OIDC `sid`). */
const STRING_CLAIMS = ['iss', 'sub', 'jti', 'client_id', 'sid', 'scope'] as const;

/**
 * The types of the registered claims, checked on the decoded claims before the signature: what a
 * claim means must not depend on how a parser rounds or coerces it. Times are whole seconds within
 * 1970–9999 (`1e400` is Infinity to JSON.parse, `-1e400` is -Infinity: both refused), `aud` is a
 * string or a list of strings, and the token may live at most `maxLifetimeSec` from its `iat` (or,
 * without `iat`, from now), so no token stays in a cache or passes a check for years.
 */
export function checkClaimTypes(
  claims: Record<string, unknown>,
  maxLifetimeSec: number,
  nowSec: number,
): void {
  for (const name of TIME_CLAIMS) {
    const value = claims[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_NUMERIC_DATE) {
      throw sdkError('SDK_CLAIM_TIME_INVALID', `"${name}" must be a whole number of seconds since 1970`);
    }
  }
  for (const name of STRING_CLAIMS) {
    const value = claims[name];
    if (value !== undefined && typeof value !== 'string') {
      throw sdkError('SDK_CLAIM_TYPE_INVALID', `"${name}" must be a string`);
    }
  }
  const aud = claims['aud'];
  if (
    aud !== undefined &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
  ) {
    throw sdkError('SDK_CLAIM_TYPE_INVALID', '"aud" must be a string or a list of strings');
  }
  const exp = claims['exp'] as number | undefined;
  if (exp === undefined) throw sdkError('SDK_CLAIMS_INVALID', '"exp" is required');
  const issuedAt = (claims['iat'] as number | undefined) ?? nowSec;
  if (exp - issuedAt > maxLifetimeSec) {
    throw sdkError('SDK_TOKEN_LIFETIME_TOO_LONG', `The token lives longer than ${maxLifetimeSec} s`);
  }
}
