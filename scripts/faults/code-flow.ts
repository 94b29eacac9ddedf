import { createHash, randomBytes } from 'node:crypto';
import { findForms } from '@gatehouse/cli';
import type { CookieJar, TopologyHttp } from './http.ts';

export interface AppClient {
  clientId: string;
  redirectUri: string;
}

/**
 * The authorization code flow with PKCE of a public client, as a browser would walk it (the login
 * form, then the consent form that offline_access needs), to the code and then the tokens. Returns
 * the refresh token, or throws with what went wrong.
 */
export async function refreshTokenByCodeFlow(
  http: TopologyHttp,
  jar: CookieJar,
  origin: string,
  client: AppClient,
  login: { username: string; password: string },
): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorize = new URL(`${origin}/auth/auth`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    scope: 'openid offline_access',
    prompt: 'consent',
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  let url = authorize;
  let res = await http.request(url.href, { headers: { cookie: jar.header() } });
  let credentialsSent = false;
  for (let hop = 0; hop < 20; hop++) {
    if (res.status === 0) throw new Error(`code flow: ${res.error} at ${url.pathname}`);
    jar.store(res.headers);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location') ?? '', url);
      if (url.href.startsWith(client.redirectUri)) {
        const code = url.searchParams.get('code');
        if (!code || url.searchParams.get('state') !== state) {
          throw new Error(`code flow: redirect without code (${url.searchParams.get('error') ?? 'state'})`);
        }
        const token = await http.request(`${origin}/auth/token`, {
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
        const refresh =
          token.status === 200
            ? (JSON.parse(token.body) as { refresh_token?: string }).refresh_token
            : undefined;
        if (!refresh) throw new Error(`code flow: token endpoint answered ${token.status || token.error}`);
        return refresh;
      }
      res = await http.request(url.href, { headers: { cookie: jar.header() } });
      continue;
    }
    if (res.status !== 200) throw new Error(`code flow: ${res.status} at ${url.pathname}`);
    const form = findForms(res.body, url).find((f) => f.method === 'post');
    if (!form) throw new Error(`code flow: no form at ${url.pathname}`);
    const fields = { ...form.fields };
    if (form.passwordInputs.length > 0) {
      if (credentialsSent) throw new Error('code flow: the login form came back');
      const userField =
        form.textInputs.find((n) => /user|login|email|name/i.test(n)) ?? form.textInputs[0] ?? 'username';
      fields[userField] = login.username;
      fields[form.passwordInputs[0]!] = login.password;
      credentialsSent = true;
    }
    url = form.action;
    res = await http.request(url.href, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: jar.header(),
        origin,
        referer: url.href,
      },
      body: new URLSearchParams(fields).toString(),
    });
  }
  throw new Error('code flow: too many hops');
}
