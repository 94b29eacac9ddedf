import { calculatePKCECodeChallenge, randomPKCECodeVerifier, randomState } from 'openid-client';

/**
 * Signing in over plain HTTP, as a browser or a command-line tool would: the first-party session API
 * (a `gatehouse_session` cookie) and the authorization code flow with PKCE through the hosted login
 * page (a bearer access token).
 */

/** `POST /authentication/login`; resolves to a Cookie header value carrying the session. */
export async function sessionCookie(publicUrl: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${publicUrl}/authentication/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`login as ${username} answered ${res.status}: ${await res.text()}`);
  for (const line of res.headers.getSetCookie()) {
    const match = /^gatehouse_session=([^;]+)/.exec(line);
    if (match) return `gatehouse_session=${match[1]}`;
  }
  throw new Error('login set no gatehouse_session cookie');
}

/** Cookies across redirects, as a browser keeps them (one origin, no attributes). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function follow(url: string, jar: CookieJar, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
  });
  jar.take(res);
  return res;
}

function locationOf(res: Response, base: string): string {
  const location = res.headers.get('location');
  if (res.status !== 303 && res.status !== 302) throw new Error(`expected a redirect, got ${res.status}`);
  if (!location) throw new Error('redirect without Location');
  return new URL(location, base).href;
}

/**
 * Follow redirects from `startUrl` as a browser would, typing the password into the identity
 * provider's login page when it shows up, until a redirect points at a URL `until` accepts (that URL
 * is not fetched). Cookies live in `jar` (cookies are per host, so one jar serves several ports).
 */
export async function passwordSignIn(
  startUrl: string,
  options: {
    publicUrl: string;
    username: string;
    password: string;
    jar: CookieJar;
    until(url: string): boolean;
  },
): Promise<string> {
  const { publicUrl, jar } = options;
  let next = startUrl;
  for (let hops = 0; hops < 10; hops++) {
    const res = await follow(next, jar);
    if (res.status === 200 && new URL(next).pathname.includes('/interaction/')) {
      const html = await res.text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
      const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
      if (!csrf || !action) throw new Error(`no login form at ${next}`);
      const submitted = await follow(new URL(action, publicUrl).href, jar, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: publicUrl },
        body: new URLSearchParams({
          csrf,
          username: options.username,
          password: options.password,
        }).toString(),
      });
      next = locationOf(submitted, publicUrl);
    } else {
      next = locationOf(res, next);
    }
    if (options.until(next)) return next;
  }
  throw new Error(`sign-in did not finish: stuck at ${next}`);
}

/**
 * The authorization code flow with PKCE for a public client, typing the password into the hosted
 * login page; resolves to the access token.
 */
export async function bearerToken(
  publicUrl: string,
  client: { clientId: string; redirectUri: string },
  username: string,
  password: string,
): Promise<string> {
  const jar = new CookieJar();
  const verifier = randomPKCECodeVerifier();
  const state = randomState();
  const authorize = new URL(`${publicUrl}/auth/auth`);
  authorize.search = new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: client.redirectUri,
    scope: 'openid',
    state,
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  const next = await passwordSignIn(authorize.href, {
    publicUrl,
    username,
    password,
    jar,
    until: (url) => url.startsWith(client.redirectUri),
  });
  const callback = new URL(next);
  if (callback.searchParams.get('state') !== state) throw new Error('state mismatch');
  const code = callback.searchParams.get('code');
  if (!code) throw new Error(`no code in ${next}`);
  const token = await fetch(`${publicUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: client.redirectUri,
      client_id: client.clientId,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await token.json()) as { access_token?: string };
  if (token.status !== 200 || !body.access_token) throw new Error(`token endpoint answered ${token.status}`);
  return body.access_token;
}
