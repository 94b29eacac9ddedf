/**
 * The claims released per scope: in userinfo (jwt-tokens.ts answers it for JWT access tokens) and,
 * through oidc-provider's `claims` option (provider.ts), in ID tokens.
 */

/** Standard claims released per scope (OIDC Core 5.4); `roles` travels in access tokens only. */
export const CLAIMS_BY_SCOPE: Record<string, string[]> = {
  openid: ['sub'],
  profile: ['preferred_username', 'name', 'given_name', 'family_name', 'updated_at'],
  email: ['email', 'email_verified'],
};

/**
 * oidc-provider's `claims` option: the standard claims, and `acr` and `amr` (RFC 8176) with `openid`,
 * so that every ID token says how its login went (`pwd`, or `otp`/`hwk`/`swk` and `mfa` after a
 * second factor; interactions.ts sets them in the login result). A new object for each provider.
 */
export function providerClaims(): Record<string, string[]> {
  return { ...CLAIMS_BY_SCOPE, openid: [...CLAIMS_BY_SCOPE['openid']!, 'acr', 'amr'] };
}
