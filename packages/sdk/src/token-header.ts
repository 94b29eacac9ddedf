import { decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose';
import { sdkError } from './errors.ts';

/** Header parameters that point at keys or carry keys: honouring them lets the sender pick the key (RFC 8725 §3.10). */
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const MAX_KID_LENGTH = 256;

/**
 * Compact JWS: three base64url segments, no padding, no whitespace (RFC 7515 §7.1). The signature may
 * be empty here so that an unsigned token is refused for its algorithm, not its shape; jose refuses an
 * empty signature of an allowed algorithm.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Media type names compare case-insensitively; `application/` may be omitted (RFC 7515 §4.1.9). */
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

export interface HeaderRules {
  algorithms: ReadonlySet<string>;
  maxTokenLength: number;
  /** Expected `typ`, without `application/`. */
  typ: string;
}

/**
 * Every check that needs no key, in the order RFC 8725 asks: size, shape, algorithm allow-list,
 * no key-carrying headers, a sane `kid`, the explicit type. Runs before any key lookup.
 */
export function checkTokenHeader(token: string, rules: HeaderRules): ProtectedHeaderParameters {
  if (token.length === 0) throw sdkError('SDK_TOKEN_MISSING');
  if (token.length > rules.maxTokenLength) throw sdkError('SDK_TOKEN_TOO_LARGE');
  if (!COMPACT_JWS.test(token)) throw sdkError('SDK_TOKEN_MALFORMED', 'The token is not a compact JWS');

  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (cause) {
    throw sdkError('SDK_TOKEN_MALFORMED', 'The token header is not valid JSON', { cause });
  }

  // Exact, case-sensitive match: "none" in any casing and every HMAC algorithm are simply not in the list.
  if (typeof header.alg !== 'string' || !rules.algorithms.has(header.alg))
    throw sdkError('SDK_ALG_NOT_ALLOWED');

  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw sdkError('SDK_HEADER_FORBIDDEN', `The token header parameter "${name}" is not accepted`);
    }
  }

  if (Object.hasOwn(header, 'kid')) {
    const kid: unknown = header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
      throw sdkError('SDK_TOKEN_MALFORMED', 'The token "kid" header must be a short string');
    }
  }

  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== rules.typ) {
    throw sdkError('SDK_TOKEN_TYPE_INVALID', `The token type must be ${rules.typ}`);
  }
  return header;
}
