import { sdkError } from './errors.ts';

export interface ClaimRules {
  /** Exact match on `iss`. */
  issuer: string;
  /** `aud` must contain one of these. */
  audiences: readonly string[];
  clockToleranceSec: number;
}

/**
 * The registered claims' values (RFC 7519 §4.1, RFC 9068 §4), on a claims set whose types
 * claim-types.ts checked and whose signature was verified, deciding as jose's `jwtVerify` does and in
 * its order (a differential test pins that): `iss`, `aud`, `jti`, `sub` present, then `iss` and `aud`
 * right, `nbf` and `exp` with the clock tolerance; then an `iat` in the future. The claims are read
 * once, strictly (strict-json.ts); jose checks the signature only, so the claims set is not parsed
 * a second time.
 */
export function checkClaimValues(claims: Record<string, unknown>, rules: ClaimRules, nowSec: number): void {
  if (claims['iss'] === undefined) throw sdkError('SDK_ISSUER_INVALID');
  if (claims['aud'] === undefined) throw sdkError('SDK_AUDIENCE_INVALID');
  for (const name of ['jti', 'sub'] as const) {
    if (claims[name] === undefined) throw sdkError('SDK_CLAIMS_INVALID', `"${name}" is required`);
  }
  if (claims['iss'] !== rules.issuer) throw sdkError('SDK_ISSUER_INVALID');
  const aud = claims['aud'] as string | string[];
  const audience = typeof aud === 'string' ? [aud] : aud;
  if (!audience.some((a) => rules.audiences.includes(a))) throw sdkError('SDK_AUDIENCE_INVALID');
  const now = Math.floor(nowSec);
  const tolerance = rules.clockToleranceSec;
  const nbf = claims['nbf'] as number | undefined;
  if (nbf !== undefined && nbf > now + tolerance) throw sdkError('SDK_TOKEN_NOT_YET_VALID');
  if ((claims['exp'] as number) <= now - tolerance) throw sdkError('SDK_TOKEN_EXPIRED');
  const iat = claims['iat'] as number | undefined;
  if (iat !== undefined && iat > now + tolerance) {
    throw sdkError('SDK_TOKEN_NOT_YET_VALID', 'The token was issued in the future');
  }
}
