import { calculatePKCECodeChallenge, randomPKCECodeVerifier, randomState } from 'openid-client';
import { findForms, type HtmlForm } from './html-form.ts';
import type { BenchResponse, VuHttp } from './http-client.ts';
import type { OidcEndpoints } from './oidc-endpoints.ts';
import { StepFailedError, UnexpectedStatusError } from './step-errors.ts';

/** Where a browser-like navigation stopped: on a page with a form, or at the client's redirect URI. */
export type Landing = { kind: 'form'; form: HtmlForm; url: URL } | { kind: 'callback'; url: URL };

const MAX_HOPS = 10;

/** Follows redirects from a response like a browser, stopping at the redirect URI or a page with a form. */
async function land(
  http: VuHttp,
  start: BenchResponse,
  startUrl: URL,
  redirectUri: string,
): Promise<Landing> {
  let res = start;
  let url = startUrl;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    if (res.status >= 300 && res.status < 400) {
      const location = res.location();
      if (!location) throw new StepFailedError('redirect without location');
      url = new URL(location, url);
      if (url.href.startsWith(redirectUri)) return { kind: 'callback', url };
      if (url.origin !== http.target.origin)
        throw new StepFailedError('redirect off target', `redirect to ${url.origin}`);
      res = await http.request('GET', url.href, { expect: 'any' });
      continue;
    }
    if (res.status !== 200) throw new UnexpectedStatusError(res.status, 'GET', url.pathname);
    const form = findForms(res.text, url).find((f) => f.method === 'post');
    if (!form) throw new StepFailedError('no form', `no form on ${url.pathname}`);
    return { kind: 'form', form, url };
  }
  throw new StepFailedError('too many redirects');
}

export interface CodeFlowClient {
  id: string;
  redirectUri: string;
}

/**
 * The authorization code flow with PKCE of a public client, as three timed parts: open the
 * authorization URL (up to the login page), post the login form (and the consent form, if any) up
 * to the redirect with the code, and exchange the code for tokens.
 */
export class CodeFlow {
  readonly #http: VuHttp;
  readonly #endpoints: OidcEndpoints;
  readonly #client: CodeFlowClient;
  readonly #login: { username: string; password: string };
  #verifier = '';
  #state = '';
  #landing: Landing | undefined;
  #code: string | undefined;

  constructor(
    http: VuHttp,
    endpoints: OidcEndpoints,
    client: CodeFlowClient,
    login: { username: string; password: string },
  ) {
    this.#http = http;
    this.#endpoints = endpoints;
    this.#client = client;
    this.#login = login;
  }

  async authorize(): Promise<void> {
    this.#verifier = randomPKCECodeVerifier();
    this.#state = randomState();
    this.#code = undefined;
    const url = new URL(this.#endpoints.authorizationEndpoint);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.#client.id,
      redirect_uri: this.#client.redirectUri,
      scope: 'openid offline_access',
      // oidc-provider issues a refresh token for offline_access only after an explicit consent prompt.
      prompt: 'consent',
      state: this.#state,
      code_challenge: await calculatePKCECodeChallenge(this.#verifier),
      code_challenge_method: 'S256',
    }).toString();
    const res = await this.#http.request('GET', url.href, { expect: 'any' });
    this.#landing = await land(this.#http, res, url, this.#client.redirectUri);
  }

  /** Posts the login form, then any consent form, until the redirect URI carries the code. */
  async logIn(): Promise<void> {
    let landing = this.#landing;
    if (!landing) throw new StepFailedError('not authorized', 'authorize first');
    let loggedIn = false;
    for (let page = 0; landing.kind === 'form'; page++) {
      if (page > 3) throw new StepFailedError('too many forms');
      const { form } = landing;
      const fields = { ...form.fields };
      if (form.passwordInputs.length > 0) {
        if (loggedIn)
          throw new StepFailedError('login rejected', 'the login form came back after posting credentials');
        const userField =
          form.textInputs.find((n) => /user|login|email|name/i.test(n)) ?? form.textInputs[0] ?? 'username';
        fields[userField] = this.#login.username;
        fields[form.passwordInputs[0]!] = this.#login.password;
        loggedIn = true;
      }
      // As a browser would: the idp refuses form posts without a same-site Origin (CSRF rule).
      const headers = { origin: landing.url.origin, referer: landing.url.href };
      const res = await this.#http.request('POST', form.action.href, {
        form: fields,
        headers,
        expect: 'any',
      });
      landing = await land(this.#http, res, form.action, this.#client.redirectUri);
    }
    const params = landing.url.searchParams;
    if (params.get('state') !== this.#state) throw new StepFailedError('state mismatch');
    const error = params.get('error');
    if (error) throw new StepFailedError(`authorization error ${error}`);
    const code = params.get('code');
    if (!code) throw new StepFailedError('no code in redirect');
    this.#code = code;
    this.#landing = undefined;
  }

  /** Exchanges the code; returns the refresh token. */
  async exchangeCode(): Promise<string> {
    const code = this.#code;
    if (!code) throw new StepFailedError('no code', 'log in first');
    this.#code = undefined;
    const res = await this.#http.request('POST', this.#endpoints.tokenEndpoint, {
      form: {
        grant_type: 'authorization_code',
        code,
        redirect_uri: this.#client.redirectUri,
        client_id: this.#client.id,
        code_verifier: this.#verifier,
      },
    });
    const body = res.json() as { refresh_token?: unknown } | undefined;
    if (typeof body?.refresh_token !== 'string') throw new StepFailedError('no refresh token issued');
    return body.refresh_token;
  }
}
