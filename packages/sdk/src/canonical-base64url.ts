import { sdkError } from './errors.ts';

/**
 * The bytes of one compact-JWS segment, which must be the one canonical spelling of those bytes:
 * unpadded base64url (RFC 7515 §2) whose unused low bits are zero. A decoder ignores those bits, so
 * without this check one token has several spellings (sixteen for the last character of an ES256
 * signature), and anything keyed on the token text (the verified-token cache, a deny-list, replay or
 * rate-limit keys) would count them as different tokens. Re-encoding the decoded bytes must give the
 * text back; the characters themselves were checked before (compact-jws.ts).
 */
export function decodeCanonicalBase64url(segment: string, what: string): Buffer {
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) {
    throw sdkError('SDK_TOKEN_NOT_CANONICAL', `The token ${what} is not canonical base64url`);
  }
  return bytes;
}
