import { sdkError } from './errors.ts';

// Invalid UTF-8 is refused rather than replaced, and a byte-order mark is kept so that JSON.parse refuses it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A JOSE header or JWT claims set: UTF-8 JSON whose top level is an object and in which no object
 * repeats a member name (RFC 8725 §3.2 asks to refuse them; RFC 7515 §5.2 allows it). Two parsers that
 * disagree on which of two `"alg"` or `"sub"` members wins are a known source of bypasses.
 */
export function parseJsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(bytes);
    value = JSON.parse(text);
  } catch (cause) {
    throw sdkError('SDK_TOKEN_MALFORMED', `The token ${what} is not UTF-8 JSON`, { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw sdkError('SDK_TOKEN_MALFORMED', `The token ${what} is not a JSON object`);
  }
  if (membersKept(value) !== membersWritten(text)) {
    throw sdkError('SDK_DUPLICATE_MEMBER', `The token ${what} repeats a member name`);
  }
  return value as Record<string, unknown>;
}

/**
 * Members in the text: JSON.parse accepted it, so every `:` outside a string literal separates one
 * member's name from its value, and string literals end at the first `"` not escaped by `\`.
 */
function membersWritten(text: string): number {
  let members = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3a /* : */) members++;
    else if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++)
        if (text.charCodeAt(i) === 0x5c /* \ */) i++;
    }
  }
  return members;
}

/**
 * Members JSON.parse kept, every object at every depth. A repeated name — however it is spelled:
 * `"a"` and `"\u0061"` are one name — keeps one member (and drops the other's whole value), so the
 * count falls short of the text's exactly when some object repeats a name.
 */
function membersKept(root: object): number {
  let members = 0;
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else {
      const keys = Object.keys(value);
      members += keys.length;
      for (const key of keys) pending.push((value as Record<string, unknown>)[key]);
    }
  }
  return members;
}
