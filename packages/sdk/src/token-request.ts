import { type ClientCredentials, clientAuthentication } from './client-authentication.ts';
import { sdkError } from './errors.ts';

export interface TokenResponse {
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface TokenRequest {
  tokenEndpoint: string;
  /** `aud` of a private_key_jwt assertion: the issuer when known, else the token endpoint. */
  assertionAudience: string;
  clientId: string;
  credentials: ClientCredentials;
  resource?: string;
  scope?: string;
  /** Grant fields; default `grant_type=client_credentials`. */
  grant?: Record<string, string>;
  /** When set, the response's `issued_token_type` must be this (RFC 8693 §2.2.1). */
  issuedTokenType?: string;
  timeoutMs: number;
  fetch: typeof fetch;
}

/** Failures the caller may retry later (the endpoint is down or answers 5xx) versus refusals. */
export class TokenRequestFailure extends Error {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TokenRequestFailure';
    this.retryable = retryable;
  }
}

const OAUTH_ERROR = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const MAX_RESPONSE_BYTES = 64 * 1024;

/** One token request by an authenticated client: client credentials (RFC 6749 §4.4) unless `grant` says otherwise. */
export async function requestToken(req: TokenRequest): Promise<TokenResponse> {
  const auth = await clientAuthentication(req.clientId, req.credentials, req.assertionAudience);
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...req.grant, ...auth.fields });
  if (req.resource !== undefined) body.set('resource', req.resource);
  if (req.scope !== undefined) body.set('scope', req.scope);

  let res: Response;
  try {
    res = await req.fetch(req.tokenEndpoint, {
      method: 'POST',
      headers: {
        ...auth.headers,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(req.timeoutMs),
    });
  } catch (cause) {
    throw new TokenRequestFailure('the token endpoint cannot be reached', true, cause);
  }
  const text = await res.text().catch(() => '');
  if (text.length > MAX_RESPONSE_BYTES)
    throw new TokenRequestFailure('the token response is too large', true);
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') json = parsed as Record<string, unknown>;
  } catch {
    // handled below as an unusable answer
  }
  if (res.status >= 500 || res.status === 429) {
    throw new TokenRequestFailure(`the token endpoint answered ${res.status}`, true);
  }
  if (res.status !== 200) {
    // Only the OAuth error code is kept: error_description may echo what we sent.
    const code =
      typeof json['error'] === 'string' && OAUTH_ERROR.test(json['error']) ? json['error'] : 'unknown';
    throw new TokenRequestFailure(`the token endpoint refused the request (${res.status} ${code})`, false);
  }
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn } = json;
  if (
    typeof accessToken !== 'string' ||
    accessToken === '' ||
    typeof tokenType !== 'string' ||
    tokenType.toLowerCase() !== 'bearer' ||
    typeof expiresIn !== 'number' ||
    !(expiresIn > 0)
  ) {
    throw new TokenRequestFailure('the token response is not a bearer token with expires_in', false);
  }
  if (req.issuedTokenType !== undefined && json['issued_token_type'] !== req.issuedTokenType) {
    throw new TokenRequestFailure('the token response has another issued_token_type', false);
  }
  return { accessToken, expiresAt: Date.now() + expiresIn * 1000 };
}

/** The token endpoint from the issuer's discovery document (OIDC Discovery / RFC 8414). */
export async function discoverTokenEndpoint(
  issuer: string,
  fetchImpl: typeof fetch,
  timeoutMs: number,
): Promise<string> {
  let res: Response;
  try {
    res = await fetchImpl(`${issuer}/.well-known/openid-configuration`, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new TokenRequestFailure('the discovery document cannot be fetched', true, cause);
  }
  if (res.status !== 200)
    throw new TokenRequestFailure(`discovery answered ${res.status}`, res.status >= 500);
  const doc = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (doc['issuer'] !== issuer || typeof doc['token_endpoint'] !== 'string') {
    throw new TokenRequestFailure('the discovery document does not match the issuer', false);
  }
  return doc['token_endpoint'];
}

export function unavailable(failure: unknown): never {
  const f = failure instanceof TokenRequestFailure ? failure : undefined;
  if (f && !f.retryable)
    throw sdkError('SDK_TOKEN_REQUEST_REFUSED', `No service token: ${f.message}`, { cause: f });
  throw sdkError('SDK_TOKEN_ENDPOINT_UNAVAILABLE', undefined, { cause: failure });
}
