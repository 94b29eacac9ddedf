/**
 * The BFF's cookies: read one by name (a repeated name is ambiguous and treated as absent-and-bad),
 * and write them HttpOnly, SameSite=Lax, Path=/, Secure when the site is served over HTTPS.
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

export function setCookieValue(
  name: string,
  value: string,
  options: { maxAgeSec: number; secure: boolean },
): string {
  let cookie = `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${options.maxAgeSec}`;
  if (options.secure) cookie += '; Secure';
  return cookie;
}

export function clearCookieValue(name: string, secure: boolean): string {
  return setCookieValue(name, '', { maxAgeSec: 0, secure });
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
