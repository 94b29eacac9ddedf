/**
 * Request-target normalization, done once per request; the result drives both policy and routing,
 * and is what the upstream receives. Enforces:
 * - origin-form only (`/path?query`); absolute-form, authority-form and `*` are refused;
 * - percent-decoding of unreserved characters only (`%61` → `a`, `%2E` → `.`), hex upper-cased
 *   for the rest; encoded `/` `\` `;` `%` (double encoding) and encoded control characters refused;
 * - encoded non-ASCII must be valid, shortest-form UTF-8 (overlong `%C0%AE` refused);
 * - raw `\`, `;` (path parameters), NUL, control, space and non-ASCII characters refused;
 * - repeated slashes collapsed, `.` and `..` segments resolved; `..` above the root refused.
 * Anything refused is ambiguous: one server would read it one way, another server another way.
 * Written by hand because no maintained library normalizes with these refusals (WHATWG URL
 * parsing, for one, turns `\` into `/` and keeps `%2F`), and the refusals are the point.
 */
export type NormalizeResult = { ok: true; path: string; query: string } | { ok: false; reason: string };

const HEX = /^[0-9A-Fa-f]{2}$/;
// RFC 3986 unreserved: decoded, since every server treats them the same either way.
const UNRESERVED = /[A-Za-z0-9\-._~]/;
// Raw characters allowed in a path segment: pchar without `;` (path parameters) and without `%`
// (handled separately). Everything else — `\`, quotes, `<>`, `{}`, `|`, `^`, backtick, space,
// control and non-ASCII — is refused.
const RAW_ALLOWED = /^[A-Za-z0-9\-._~!$&'()*+,=:@/]$/;
// Query: any visible ASCII; the query never decides a policy, but it must not smuggle controls.
const QUERY_OK = /^[\x21-\x7e]*$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

// The path almost every request has: segments of characters kept as they are (RAW_ALLOWED, no
// `%`), none empty, `.` or `..`, and an optional trailing slash. Decoding and resolving such a path
// gives it back unchanged, so it is not walked character by character (a test checks the shortcut
// against the full walk).
const PLAIN_PATH = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,=:@]+)*\/?$/;

export function normalizeRequestTarget(target: string | undefined): NormalizeResult {
  if (target === undefined || !target.startsWith('/'))
    return { ok: false, reason: 'request target is not an absolute path' };
  const q = target.indexOf('?');
  const rawPath = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);
  if (!QUERY_OK.test(query)) return { ok: false, reason: 'query has control or non-ASCII characters' };
  if (query.includes('#')) return { ok: false, reason: 'fragment in request target' };
  if (PLAIN_PATH.test(rawPath)) return { ok: true, path: rawPath, query };
  return normalizePath(rawPath, query);
}

/** The full walk: decode, then resolve dot segments. Exported for the test of the shortcut. */
export function normalizePath(rawPath: string, query: string): NormalizeResult {
  const decoded = decodePath(rawPath);
  if (!decoded.ok) return decoded;
  const resolved = resolveSegments(decoded.path);
  if (!resolved.ok) return resolved;
  return { ok: true, path: resolved.path, query };
}

function decodePath(raw: string): { ok: true; path: string } | { ok: false; reason: string } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '%') {
      if (!RAW_ALLOWED.test(c))
        return { ok: false, reason: `character ${JSON.stringify(c)} not allowed in path` };
      out += c;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return { ok: false, reason: 'malformed percent-encoding' };
    const byte = Number.parseInt(hex, 16);
    if (byte >= 0x80) {
      // A run of encoded non-ASCII bytes must decode as valid UTF-8; kept encoded (upper-case hex).
      const bytes: number[] = [];
      let j = i;
      while (raw[j] === '%' && HEX.test(raw.slice(j + 1, j + 3))) {
        const b = Number.parseInt(raw.slice(j + 1, j + 3), 16);
        if (b < 0x80) break;
        bytes.push(b);
        j += 3;
      }
      try {
        utf8.decode(new Uint8Array(bytes));
      } catch {
        return { ok: false, reason: 'encoded bytes are not valid UTF-8' };
      }
      out += bytes.map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('');
      i = j - 1;
      continue;
    }
    const ch = String.fromCharCode(byte);
    if (byte < 0x20 || byte === 0x7f) return { ok: false, reason: 'encoded control character' };
    if (ch === '/' || ch === '\\') return { ok: false, reason: 'encoded slash or backslash' };
    if (ch === '%') return { ok: false, reason: 'double percent-encoding' };
    if (ch === ';') return { ok: false, reason: 'encoded path parameter' };
    out += UNRESERVED.test(ch) ? ch : '%' + hex.toUpperCase();
    i += 2;
  }
  return { ok: true, path: out };
}

function resolveSegments(path: string): { ok: true; path: string } | { ok: false; reason: string } {
  const parts = path.split('/').slice(1);
  const trailingSlash = parts.length > 1 && parts[parts.length - 1] === '';
  const stack: string[] = [];
  let endsInDirectory = trailingSlash;
  for (let k = 0; k < parts.length; k++) {
    const seg = parts[k]!;
    const last = k === parts.length - 1;
    if (seg === '') continue;
    if (seg === '.') {
      if (last) endsInDirectory = true;
      continue;
    }
    if (seg === '..') {
      if (stack.length === 0) return { ok: false, reason: 'dot segment above the root' };
      stack.pop();
      if (last) endsInDirectory = true;
      continue;
    }
    stack.push(seg);
  }
  let out = '/' + stack.join('/');
  if (endsInDirectory && stack.length > 0) out += '/';
  return { ok: true, path: out };
}
