/**
 * How identity values travel in the gateway's headers (`X-User-ID`, `X-User-Name`, `X-Client-ID`,
 * and the items of `X-User-Roles` and `X-Scopes`). The gateway writes them with these functions and
 * services read them back with them, so the encoding lives in one place.
 *
 * Values are percent-encoded outside visible ASCII (as UTF-8 bytes), and `%` itself, so a claim can
 * neither split a header nor make two different values read the same; list items also encode the
 * list separators (`,` for roles, space for scopes), so a role named "user,admin" cannot read as two.
 */
const UNSAFE = /[^\x20-\x24\x26-\x7e]/gu;
const UNSAFE_IN_LIST = /[^\x21-\x24\x26-\x2b\x2d-\x7e]/gu;

function encode(value: string, unsafe: RegExp): string {
  return value.replace(unsafe, (ch) => {
    try {
      return encodeURIComponent(ch);
    } catch {
      // A lone surrogate is not a character: write U+FFFD, as a UTF-8 decoder would.
      return '%EF%BF%BD';
    }
  });
}

/** A single value: X-User-ID, X-User-Name, X-Client-ID. */
export function encodeIdentityValue(value: string): string {
  return encode(value, UNSAFE);
}

/** X-User-Roles: items joined by `,`. */
export function encodeRolesHeader(roles: readonly string[]): string {
  return roles.map((r) => encode(r, UNSAFE_IN_LIST)).join(',');
}

/** X-Scopes: items joined by a space. */
export function encodeScopesHeader(scopes: readonly string[]): string {
  return scopes.map((s) => encode(s, UNSAFE_IN_LIST)).join(' ');
}

/** Read a value back; a malformed escape leaves the text as it came. */
export function decodeIdentityValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function decodeRolesHeader(value: string): string[] {
  return value
    .split(',')
    .filter((r) => r !== '')
    .map(decodeIdentityValue);
}

export function decodeScopesHeader(value: string): string[] {
  return value
    .split(' ')
    .filter((s) => s !== '')
    .map(decodeIdentityValue);
}
