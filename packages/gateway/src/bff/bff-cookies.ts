/**
 * The BFF's cookies, written HttpOnly, SameSite=Lax, Path=/, Secure when the site is served over
 * HTTPS. Reading them is core's `readCookie` (a repeated name is ambiguous and treated as bad).
 */
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
