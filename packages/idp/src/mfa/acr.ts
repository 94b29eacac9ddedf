/**
 * Authentication context classes (OIDC Core `acr`) and methods (RFC 8176 `amr`) of a sign-in.
 *
 * - `urn:gatehouse:acr:pwd`: a password (or a directory password) alone;
 * - `urn:gatehouse:acr:mfa`: a password and a second factor, or a passkey that verified its user
 *   (possession of the key and a PIN or biometric is two factors by itself).
 *
 * A client asks for a level with `acr_values` (or gets its `default_acr_values`); the login prompt
 * (interaction-policy.ts) asks for a new sign-in when the session's level is below what was asked.
 */
export const ACR_PASSWORD = 'urn:gatehouse:acr:pwd';
export const ACR_MFA = 'urn:gatehouse:acr:mfa';
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA];

/** The level an `amr` list reaches. */
export function acrOf(amr: readonly string[]): string {
  return amr.includes('mfa') ? ACR_MFA : ACR_PASSWORD;
}

/** Whether an authorization request's `acr_values` (space-separated) asks for the MFA level only. */
export function requestsMfa(acrValues: unknown): boolean {
  if (typeof acrValues !== 'string') return false;
  const asked = acrValues.split(' ').filter((v) => v !== '');
  // Any level the request accepts that a password meets (or one this server does not know, which
  // OIDC treats as voluntary) lets a password through; only "mfa and nothing lower" demands more.
  return asked.length > 0 && asked.every((v) => v === ACR_MFA);
}
