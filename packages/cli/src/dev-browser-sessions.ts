import { randomBytes } from 'node:crypto';
import type { IdpClientConfig } from '@gatehouse/idp';

/** The OAuth client the gateway signs people in as under `gatehouse dev` (browser sessions, BFF). */
export const DEV_BROWSER_CLIENT_ID = 'gatehouse-browser';

export interface DevBrowserSessions {
  client: IdpClientConfig;
  /** The `gateway.bff` section that goes with it. */
  bff: Record<string, unknown>;
}

/**
 * Browser sessions for `gatehouse dev` when the configuration sets none: pages marked `browser: true`
 * then send a person to the hosted sign-in page and back. The client secret and the key that seals
 * the stored tokens are drawn at each start, so they are never written anywhere and a restart just
 * signs everyone out; a deployment configures `gateway.bff` itself, with secrets shared by replicas.
 */
export function devBrowserSessions(publicUrl: string): DevBrowserSessions {
  const clientSecret = randomBytes(32).toString('base64url');
  return {
    client: {
      clientId: DEV_BROWSER_CLIENT_ID,
      clientSecret,
      tokenEndpointAuthMethod: 'client_secret_basic',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [`${publicUrl}/_gatehouse/bff/callback`],
      postLogoutRedirectUris: [`${publicUrl}/`],
      scope: 'openid profile',
      roles: [],
      firstParty: true,
    },
    bff: {
      enabled: true,
      clientId: DEV_BROWSER_CLIENT_ID,
      clientSecret,
      sessionSecret: randomBytes(32).toString('base64url'),
      // No offline_access: it would ask for consent on every sign-in. Without a refresh token the
      // browser session ends with its access token, and the next page goes through the still-open
      // sign-in at the identity provider without asking anything.
      scopes: ['openid', 'profile'],
    },
  };
}
