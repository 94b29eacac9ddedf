/**
 * Where the browser goes after a BFF login: only a path on this site. Anything that a browser could
 * read as another origin (`//evil`, `/\\evil`, `https://evil`, a tab or newline that URL parsers drop,
 * `javascript:`) is refused rather than repaired: an open redirect is a phishing tool.
 * Returns the path to redirect to, or undefined when the value is not acceptable.
 */
const MAX_RETURN_TO = 2048;
const PROBE_ORIGIN = 'http://return-to.invalid';

export function safeReturnTo(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined || value === '') return '/';
  if (value.length > MAX_RETURN_TO) return undefined;
  if (!value.startsWith('/') || value.startsWith('//')) return undefined;
  // Backslashes read as slashes in browsers; control characters and spaces are stripped by parsers.
  if (/[\\\x00-\x20\x7f]/.test(value)) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value, PROBE_ORIGIN);
  } catch {
    return undefined;
  }
  if (parsed.origin !== PROBE_ORIGIN) return undefined;
  const path = `${parsed.pathname}${parsed.search}${parsed.hash}`;
  // Encoded slashes that decode to "//" at the start are one decode away from another origin.
  if (/^\/(%2f|%5c)/i.test(path)) return undefined;
  return path;
}
