// A cookie-keeping HTTP client that behaves like a browser for server-rendered pages: redirects
// followed by hand (so every hop is visible), cookies kept per host as browsers do (the port is not
// part of a cookie's scope), forms submitted with their own action and hidden fields. The cookie
// handling is hand-written because no cookie-jar library is a dependency here; it covers what the
// identity provider and mod_auth_openidc send (name=value, Domain, Max-Age, Expires), not paths.
import { request } from 'undici';
import { findForms, type HtmlForm } from '../../packages/cli/src/bench/html-form.ts';

export type { HtmlForm };

export interface Page {
  url: URL;
  status: number;
  headers: Headers;
  html: string;
}

const MAX_HOPS = 15;

export class Browser {
  /** host → cookie name → value; paths are ignored (every page here is under one site). */
  readonly #cookies = new Map<string, Map<string, string>>();
  /** Every URL requested, in order (redirect chains are asserted on). */
  readonly visited: URL[] = [];

  cookieHeader(url: URL): string {
    const jar = this.#cookies.get(url.hostname);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  #take(url: URL, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const domain = attrs
        .map((a) => a.trim())
        .find((a) => /^domain=/i.test(a))
        ?.slice(7)
        .replace(/^\./, '');
      const host = domain || url.hostname;
      const jar = this.#cookies.get(host) ?? new Map<string, string>();
      this.#cookies.set(host, jar);
      const expired =
        value === '' ||
        attrs.some((a) => /^\s*max-age=\s*(0|-\d+)\s*$/i.test(a)) ||
        attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now());
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
  }

  /** One request, no redirect following; cookies sent and kept. */
  async request(
    url: URL | string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Response> {
    const target = new URL(url);
    this.visited.push(target);
    const headers: Record<string, string> = {
      accept: 'text/html',
      // A browser following links and forms says `sec-fetch-mode: navigate`; relying parties such as
      // mod_auth_openidc answer 401 instead of redirecting to anything else. fetch() always says
      // `cors`, hence undici's plain request() here.
      'sec-fetch-mode': 'navigate',
      'user-agent': 'gatehouse-test-browser',
      ...init.headers,
    };
    const cookie = this.cookieHeader(target);
    if (cookie) headers['cookie'] = cookie;
    const res = await request(target, { method: (init.method ?? 'GET') as 'GET', headers, body: init.body });
    const out = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : [value ?? '']) out.append(name, v);
    }
    const text = await res.body.text();
    // Response cannot carry 1xx; every status seen here is 2xx–5xx.
    const response = new Response([204, 304].includes(res.statusCode) ? null : text, {
      status: res.statusCode,
      headers: out,
    });
    this.#take(target, response);
    return response;
  }

  /**
   * GET `url` and follow redirects until a page that is not a redirect, or until `stopAt` says a
   * redirect target is where the caller wants to stop (e.g. a relying party's callback without a
   * server behind it). Resolves to the last URL with its response.
   */
  async navigate(
    url: URL | string,
    stopAt: (u: URL) => boolean = () => false,
    first?: Response,
  ): Promise<Page> {
    let current = new URL(url);
    let res = first ?? (await this.request(current));
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) {
        return { url: current, status: res.status, headers: res.headers, html: await res.text() };
      }
      await res.body?.cancel();
      current = new URL(location, current);
      if (stopAt(current)) return { url: current, status: res.status, headers: res.headers, html: '' };
      res = await this.request(current);
    }
    throw new Error(`more than ${MAX_HOPS} redirects: ${this.visited.map((u) => u.href).join(' → ')}`);
  }

  /** Submit a form as its submit button would, with `values` filled in, then follow redirects. */
  async submit(
    page: Page,
    form: HtmlForm,
    values: Record<string, string> = {},
    stopAt: (u: URL) => boolean = () => false,
  ): Promise<Page> {
    const res = await this.request(form.action, {
      method: form.method.toUpperCase(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: page.url.origin },
      body: new URLSearchParams({ ...form.fields, ...values }).toString(),
    });
    return this.navigate(form.action, stopAt, res);
  }
}

export function forms(page: Page): HtmlForm[] {
  return findForms(page.html, page.url).filter((f) => f.method === 'post');
}

/**
 * The hosted sign-in as a person does it: on the login page fill username and password, on the
 * consent page press Allow (the first form), until a page without those forms, or `stopAt`.
 * `seen` collects the kinds of pages passed ('login', 'consent').
 */
export async function signIn(
  browser: Browser,
  start: Page,
  credentials: { username: string; password: string },
  stopAt: (u: URL) => boolean = () => false,
  seen: string[] = [],
): Promise<Page> {
  let page = start;
  for (let step = 0; step < 4; step++) {
    if (page.html === '' || page.status !== 200) return page;
    const all = forms(page);
    const login = all.find((f) => f.passwordInputs.length > 0);
    if (login) {
      seen.push('login');
      page = await browser.submit(
        page,
        login,
        { [login.textInputs[0]!]: credentials.username, [login.passwordInputs[0]!]: credentials.password },
        stopAt,
      );
      continue;
    }
    const consent = all.find((f) => /\/interaction\/[^/]+\/confirm$/.test(f.action.pathname));
    if (!consent) return page;
    seen.push('consent');
    page = await browser.submit(page, consent, {}, stopAt);
  }
  throw new Error(`sign-in did not finish: ${page.url.href}`);
}
