import { sdkError } from './errors.ts';

/** Header parameters that point at keys or carry keys: honouring them lets the sender pick the key (RFC 8725 §3.10). */
const FORBIDDEN_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;
const MAX_KID_LENGTH = 256;

/** Header parameters JWS and JWA define themselves: `crit` must not list them (RFC 7515 §4.1.11). */
const REGISTERED_HEADERS = new Set([
  'alg',
  'jku',
  'jwk',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'typ',
  'cty',
  'crit',
  'enc',
  'zip',
  'epk',
  'apu',
  'apv',
  'iv',
  'tag',
  'p2s',
  'p2c',
]);

/** Media type names compare case-insensitively; `application/` may be omitted (RFC 7515 §4.1.9). */
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

export interface HeaderRules {
  algorithms: ReadonlySet<string>;
  maxTokenLength: number;
  /** Expected `typ`, without `application/`; undefined for a bare JWS that is not a JWT. */
  typ: string | undefined;
}

/**
 * Every check of a decoded header that needs no key, in the order RFC 8725 asks: algorithm
 * allow-list, no key-carrying headers, a sane `kid`, the explicit type, then extensions. Runs before
 * any key lookup.
 */
export function checkTokenHeader(header: Record<string, unknown>, rules: HeaderRules): void {
  // Exact, case-sensitive match: "none" in any casing and every HMAC algorithm are simply not in the list.
  if (typeof header['alg'] !== 'string' || !rules.algorithms.has(header['alg']))
    throw sdkError('SDK_ALG_NOT_ALLOWED');

  for (const name of FORBIDDEN_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw sdkError('SDK_HEADER_FORBIDDEN', `The token header parameter "${name}" is not accepted`);
    }
  }

  if (Object.hasOwn(header, 'kid')) {
    const kid: unknown = header['kid'];
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
      throw sdkError('SDK_TOKEN_MALFORMED', 'The token "kid" header must be a short string');
    }
  }

  if (
    rules.typ !== undefined &&
    (typeof header['typ'] !== 'string' || normalizeTyp(header['typ']) !== rules.typ)
  ) {
    throw sdkError('SDK_TOKEN_TYPE_INVALID', `The token type must be ${rules.typ}`);
  }

  checkCritical(header);
}

/**
 * `crit` (RFC 7515 §4.1.11): a non-empty list of extension names the header carries; a recipient
 * that does not understand one must refuse the token. This verifier understands none, so a
 * well-formed `crit` is refused as unsupported and a malformed one as invalid. `b64` (RFC 7797) changes
 * what the signature covers and must be listed in `crit` (§6): on its own it is refused rather
 * than ignored, since a parser that honours it would read another payload than one that does not.
 */
function checkCritical(header: Record<string, unknown>): void {
  if (Object.hasOwn(header, 'crit')) {
    const crit: unknown = header['crit'];
    const wellFormed =
      Array.isArray(crit) &&
      crit.length > 0 &&
      crit.every(
        (name, i) =>
          typeof name === 'string' &&
          !REGISTERED_HEADERS.has(name) &&
          Object.hasOwn(header, name) &&
          crit.indexOf(name) === i,
      );
    if (!wellFormed) {
      throw sdkError(
        'SDK_HEADER_CRIT_INVALID',
        'The token "crit" header must list extension parameters the header carries',
      );
    }
    throw sdkError('SDK_HEADER_CRIT_UNSUPPORTED', `The token requires extensions: ${crit.join(', ')}`);
  }
  if (Object.hasOwn(header, 'b64')) {
    throw sdkError('SDK_HEADER_CRIT_INVALID', 'The token "b64" header is not listed in "crit"');
  }
}
