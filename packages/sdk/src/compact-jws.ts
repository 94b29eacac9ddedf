import { checkCanonicalBase64url } from './canonical-base64url.ts';
import { sdkError } from './errors.ts';
import { parseJsonObject } from './strict-json.ts';
import { checkTokenHeader, type HeaderRules } from './token-header.ts';

/**
 * Compact JWS: three base64url segments, no padding, no whitespace (RFC 7515 §7.1). The signature may
 * be empty here so that an unsigned token is refused for its algorithm, not its shape; jose refuses an
 * empty signature of an allowed algorithm.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface CompactJws {
  header: Record<string, unknown>;
  /** The payload's bytes: a JWT's claims set is read from them with parseJsonObject (strict-json.ts). */
  payload: Buffer;
  /** The signature's text (base64url), from `signatureOffset` in the token. */
  signature: string;
  signatureOffset: number;
}

/**
 * A JWS read strictly, before any key or signature work: size, shape, each segment the one
 * canonical base64url spelling of its bytes, the header a UTF-8 JSON object without repeated member
 * names that passes the header's rules (token-header.ts) before the payload is even decoded.
 * What passes has exactly one text for its header, payload and signature bytes.
 */
export function parseCompactJws(token: string, rules: HeaderRules): CompactJws {
  if (token.length === 0) throw sdkError('SDK_TOKEN_MISSING');
  if (token.length > rules.maxTokenLength) throw sdkError('SDK_TOKEN_TOO_LARGE');
  if (!COMPACT_JWS.test(token)) throw sdkError('SDK_TOKEN_MALFORMED', 'The token is not a compact JWS');
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);

  const headerText = token.slice(0, first);
  const payloadText = token.slice(first + 1, second);
  const signature = token.slice(second + 1);
  checkCanonicalBase64url(headerText, 'header');
  checkCanonicalBase64url(payloadText, 'payload');
  checkCanonicalBase64url(signature, 'signature');
  const header = parseJsonObject(Buffer.from(headerText, 'base64url'), 'header');
  checkTokenHeader(header, rules);
  const payload = Buffer.from(payloadText, 'base64url');
  return { header, payload, signature, signatureOffset: second + 1 };
}
