/**
 * The sdk's error catalog. Same shape as `GatehouseError` in `@gatehouse/core` (code, status, headers,
 * `toJSON() → { error, message }`) without depending on it: a team adds the sdk to its own services.
 */

export interface SdkErrorSpec {
  readonly status: number;
  readonly message: string;
  /** RFC 6750 error code for `WWW-Authenticate`, when the error is about the bearer token. */
  readonly bearerError?: 'invalid_token' | 'insufficient_scope' | 'invalid_request';
}

export const sdkErrorCatalog = {
  SDK_TOKEN_MISSING: { status: 401, message: 'No bearer token was presented' },
  SDK_TOKEN_MALFORMED: { status: 401, message: 'The token is malformed', bearerError: 'invalid_token' },
  SDK_TOKEN_TOO_LARGE: { status: 401, message: 'The token is too large', bearerError: 'invalid_token' },
  SDK_TOKEN_NOT_CANONICAL: {
    status: 401,
    message: 'The token is not canonical unpadded base64url',
    bearerError: 'invalid_token',
  },
  SDK_DUPLICATE_MEMBER: {
    status: 401,
    message: 'The token header or claims repeat a member name',
    bearerError: 'invalid_token',
  },
  SDK_ALG_NOT_ALLOWED: {
    status: 401,
    message: 'The token signing algorithm is not allowed',
    bearerError: 'invalid_token',
  },
  SDK_HEADER_FORBIDDEN: {
    status: 401,
    message: 'The token header carries a forbidden parameter',
    bearerError: 'invalid_token',
  },
  SDK_HEADER_CRIT_INVALID: {
    status: 401,
    message: 'The token header "crit" is malformed or misses an extension it must list',
    bearerError: 'invalid_token',
  },
  SDK_HEADER_CRIT_UNSUPPORTED: {
    status: 401,
    message: 'The token requires an extension this verifier does not support',
    bearerError: 'invalid_token',
  },
  SDK_TOKEN_TYPE_INVALID: {
    status: 401,
    message: 'The token type is not accepted',
    bearerError: 'invalid_token',
  },
  SDK_KEY_UNKNOWN: { status: 401, message: 'The token signing key is unknown', bearerError: 'invalid_token' },
  SDK_SIGNATURE_INVALID: {
    status: 401,
    message: 'The token signature is invalid',
    bearerError: 'invalid_token',
  },
  SDK_TOKEN_EXPIRED: { status: 401, message: 'The token has expired', bearerError: 'invalid_token' },
  SDK_TOKEN_NOT_YET_VALID: {
    status: 401,
    message: 'The token is not valid yet',
    bearerError: 'invalid_token',
  },
  SDK_ISSUER_INVALID: {
    status: 401,
    message: 'The token issuer is not trusted',
    bearerError: 'invalid_token',
  },
  SDK_AUDIENCE_INVALID: {
    status: 401,
    message: 'The token is not meant for this audience',
    bearerError: 'invalid_token',
  },
  SDK_CLAIM_TIME_INVALID: {
    status: 401,
    message: 'A time claim (exp, nbf, iat) is not a whole number of seconds in range',
    bearerError: 'invalid_token',
  },
  SDK_CLAIM_TYPE_INVALID: {
    status: 401,
    message: 'A registered claim has the wrong type',
    bearerError: 'invalid_token',
  },
  SDK_TOKEN_LIFETIME_TOO_LONG: {
    status: 401,
    message: 'The token lives longer than this verifier accepts',
    bearerError: 'invalid_token',
  },
  SDK_VERIFICATION_FAILED: {
    status: 401,
    message: 'The token could not be verified',
    bearerError: 'invalid_token',
  },
  SDK_CLAIMS_INVALID: { status: 401, message: 'The token claims are invalid', bearerError: 'invalid_token' },
  SDK_TOKEN_REVOKED: { status: 401, message: 'The token has been revoked', bearerError: 'invalid_token' },
  SDK_TOKEN_BINDING_INVALID: {
    status: 401,
    message: 'The token is bound to a client certificate that was not presented',
    bearerError: 'invalid_token',
  },
  SDK_ASSERTION_INVALID: {
    status: 401,
    message: 'The gateway assertion is missing or invalid',
    bearerError: 'invalid_token',
  },
  SDK_JWKS_UNAVAILABLE: { status: 503, message: 'The signing keys cannot be fetched' },
  SDK_REVOCATION_UNAVAILABLE: { status: 503, message: 'The revocation check cannot be made' },
  SDK_INSUFFICIENT_ROLE: {
    status: 403,
    message: 'The token lacks a required role',
    bearerError: 'insufficient_scope',
  },
  SDK_INSUFFICIENT_SCOPE: {
    status: 403,
    message: 'The token lacks a required scope',
    bearerError: 'insufficient_scope',
  },
  SDK_TOKEN_ENDPOINT_UNAVAILABLE: {
    status: 503,
    message: 'The token endpoint cannot be reached and no valid cached token is left',
  },
  SDK_TOKEN_REQUEST_REFUSED: { status: 502, message: 'The token endpoint refused the token request' },
  SDK_PEER_MISSING: {
    status: 500,
    message: 'A framework integration needs a package that is not installed',
  },
  SDK_PERMISSION_DENIED: { status: 403, message: 'Permission denied' },
  SDK_PERMISSION_UNAVAILABLE: { status: 503, message: 'The permission engine did not answer' },
  SDK_PERMISSION_QUERY_INVALID: { status: 400, message: 'The permission engine refused the question' },
  SDK_INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, SdkErrorSpec>;

export type SdkErrorCode = keyof typeof sdkErrorCatalog;

/** An error with a stable code, an HTTP status and the headers to send with it. */
export class SdkError extends Error {
  readonly code: SdkErrorCode;
  readonly status: number;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: SdkErrorCode,
    status: number,
    message: string,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SdkError';
    this.code = code;
    this.status = status;
    this.headers = options.headers;
  }

  toJSON(): { error: string; message: string } {
    return { error: this.code, message: this.message };
  }
}

/** Quoted-string safe: the description goes inside `"..."` of a header value. */
function headerText(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, '');
}

/**
 * `WWW-Authenticate` for a bearer error (RFC 6750 §3). A request without any token gets a bare
 * challenge with no error code, as §3.1 asks.
 */
export function bearerChallenge(code: SdkErrorCode, message: string, scope?: string): string | undefined {
  const spec: SdkErrorSpec = sdkErrorCatalog[code];
  if (code === 'SDK_TOKEN_MISSING') return 'Bearer';
  if (!spec.bearerError) return undefined;
  let value = `Bearer error="${spec.bearerError}", error_description="${headerText(message)}"`;
  if (scope !== undefined) value += `, scope="${headerText(scope)}"`;
  return value;
}

/** Throw by code: status and `WWW-Authenticate` come from the catalog. */
export function sdkError(
  code: SdkErrorCode,
  message?: string,
  options: { cause?: unknown; scope?: string; headers?: Record<string, string> } = {},
): SdkError {
  const spec: SdkErrorSpec = sdkErrorCatalog[code];
  const text = message ?? spec.message;
  const headers: Record<string, string> = { ...options.headers };
  const challenge = bearerChallenge(code, text, options.scope);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  return new SdkError(code, spec.status, text, {
    headers: Object.keys(headers).length > 0 ? headers : undefined,
    cause: options.cause,
  });
}

export function isSdkError(err: unknown, code?: SdkErrorCode): err is SdkError {
  return err instanceof SdkError && (code === undefined || err.code === code);
}
