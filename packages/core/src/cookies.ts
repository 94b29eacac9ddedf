/**
 * Reading the Cookie request header, for every component that authenticates by cookie. A name
 * that appears more than once (one cookie set by a sibling subdomain, say) is ambiguous: it is
 * reported as `repeated`, never guessed between, because the two values may belong to two people.
 */
export type CookieRead = { kind: 'absent' } | { kind: 'one'; value: string } | { kind: 'repeated' };

export function readCookie(header: string | string[] | undefined, name: string): CookieRead {
  if (header === undefined) return { kind: 'absent' };
  const text = Array.isArray(header) ? header.join('; ') : header;
  let found: string | undefined;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return { kind: 'repeated' };
    found = part.slice(eq + 1).trim();
  }
  return found === undefined ? { kind: 'absent' } : { kind: 'one', value: found };
}

/** The cookie's value when it is there exactly once; absent and repeated both read as no value. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  const read = readCookie(header, name);
  return read.kind === 'one' ? read.value : undefined;
}

/** The Cookie header without the named cookies (what an upstream must not receive). */
export function withoutCookies(
  header: string | string[] | number | undefined,
  names: ReadonlySet<string>,
): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join('; ') : String(header);
  const kept = text
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '' && !names.has((p.indexOf('=') === -1 ? p : p.slice(0, p.indexOf('='))).trim()));
  return kept.length > 0 ? kept.join('; ') : undefined;
}
