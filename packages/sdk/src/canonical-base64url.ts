import { sdkError } from './errors.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Unused low bits of a segment's last character, by the segment's length mod 4 (RFC 4648 §3.5). */
const UNUSED_BITS = [0, -1, 0b1111, 0b11] as const;

/**
 * Checks that a compact-JWS segment (characters of the base64url alphabet only, checked before:
 * compact-jws.ts) is the one canonical spelling of its bytes: unpadded base64url (RFC 7515 §2) whose
 * unused low bits are zero. A decoder ignores those bits, so without this check one token has
 * several spellings (sixteen for the last character of an ES256 signature), and anything keyed on
 * the token text (the verified-token cache, a deny-list, replay or rate-limit keys) would count
 * them as different tokens. It is exactly "re-encoding the decoded bytes gives the text back":
 * a length of 4k+1 cannot be decoded whole, and otherwise the last character alone can differ.
 */
export function checkCanonicalBase64url(segment: string, what: string): void {
  const unused = UNUSED_BITS[segment.length % 4]!;
  if (unused !== 0 && (unused < 0 || ALPHABET.indexOf(segment[segment.length - 1]!) & unused)) {
    throw sdkError('SDK_TOKEN_NOT_CANONICAL', `The token ${what} is not canonical base64url`);
  }
}
