import type { IdpClientConfig } from '@gatehouse/idp';

/** The admin console's own OAuth client: the gateway signs people in to `/admin` as this client. */
export const CONSOLE_CLIENT_ID = 'gatehouse-console';

/** The BFF's callback unless `gateway.bff.redirectPath` moves it. */
const DEFAULT_CALLBACK_PATH = '/_gatehouse/bff/callback';

export interface ConsoleClientOptions {
  /** `gateway.bff.redirectPath`, when the configuration moves the callback. */
  redirectPath?: string | undefined;
  /** Sign-ins for the console need a second factor (the MFA policy asks it of admins). */
  requireMfa?: boolean;
}

/**
 * The console's client at the identity provider: public (no secret: the console keeps no credential),
 * code + PKCE (the provider requires S256 of every client), first party (no consent page), no refresh
 * token (the session ends with its access token and the next page signs in again through the still
 * open sign-in). Its own client id lets the identity provider apply the console's MFA policy and lets
 * the audit trail and the sessions list tell console sign-ins apart.
 */
export function consoleClient(publicUrl: string, options: ConsoleClientOptions = {}): IdpClientConfig {
  const site = publicUrl.replace(/\/$/, '');
  return {
    clientId: CONSOLE_CLIENT_ID,
    tokenEndpointAuthMethod: 'none',
    grantTypes: ['authorization_code'],
    redirectUris: [`${site}${options.redirectPath ?? DEFAULT_CALLBACK_PATH}`],
    postLogoutRedirectUris: [`${site}/`],
    scope: 'openid profile',
    roles: [],
    firstParty: true,
    ...(options.requireMfa ? { requireMfa: true } : {}),
  };
}

/** The `gateway.bff.clients` entry that goes with it. */
export const consoleBffClient = { clientId: CONSOLE_CLIENT_ID, scopes: ['openid', 'profile'] };

/** Whether the MFA policy (`idp.mfa.requiredRoles`) asks a second factor of the admin role. */
export function consoleNeedsMfa(idpSection: { mfa?: Record<string, unknown> }): boolean {
  const roles = idpSection.mfa?.['requiredRoles'];
  return Array.isArray(roles) && roles.includes('admin');
}
