// A person's access token the way a browser app gets one: the public client `demo-app` runs code +
// PKCE, the person signs in on the hosted page (and allows access if asked), the app redeems the code.
import * as oidc from 'openid-client';
import { Browser, signIn } from './browser.ts';

export async function userAccessToken(
  origin: string,
  credentials: { username: string; password: string },
): Promise<string> {
  const redirect = `${origin}/callback`;
  const config = await oidc.discovery(new URL(`${origin}/auth`), 'demo-app', undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirect,
    scope: 'openid profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const browser = new Browser();
  const atRedirect = (u: URL) => `${u.origin}${u.pathname}` === redirect;
  const start = await browser.navigate(url, atRedirect);
  const end = await signIn(browser, start, credentials, atRedirect);
  const tokens = await oidc.authorizationCodeGrant(config, end.url, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  return tokens.access_token;
}
