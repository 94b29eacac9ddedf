/**
 * Names that travel between the identity provider, the gateway and services (docs/contracts.md),
 * declared once: the idp, the gateway and the SDK import them from here, so no side can drift.
 */

/** The headers the gateway vouches for, as lower-case names (docs/gateway.md, "Identity headers"). */
export const IDENTITY_HEADER = {
  userId: 'x-user-id',
  userName: 'x-user-name',
  userRoles: 'x-user-roles',
  clientId: 'x-client-id',
  scopes: 'x-scopes',
  /** The gateway's signed identity assertion (gateway-assertion.ts). */
  assertion: 'x-gatehouse-assertion',
} as const;

/** The first-party session cookie the idp sets and the gateway reads. */
export const SESSION_COOKIE = 'gatehouse_session';

/** `aud` of a first-party session token: never an API's audience, so it is never taken for an access token. */
export const SESSION_AUDIENCE = 'gatehouse-session';

/** `typ` header of a first-party session token. */
export const SESSION_TOKEN_TYPE = 'gh-session+jwt';
