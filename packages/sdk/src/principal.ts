import type { JWTPayload } from 'jose';
import { sdkError } from './errors.ts';

/** Who is calling: a person (user token or session) or a service (client credentials). */
export interface Principal {
  kind: 'user' | 'service';
  subject: string;
  clientId: string;
  username?: string;
  roles: string[];
  scopes: string[];
  audience: string[];
  sessionId?: string;
  tokenId: string;
  /** `exp`, epoch seconds. */
  expiresAt: number;
  claims: JWTPayload;
}

function optionalString(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw sdkError('SDK_CLAIMS_INVALID', `"${claim}" must be a string`);
  return value;
}

function requiredString(payload: JWTPayload, claim: string): string {
  const value = optionalString(payload, claim);
  if (value === undefined) throw sdkError('SDK_CLAIMS_INVALID', `"${claim}" is required`);
  return value;
}

function stringList(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim];
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw sdkError('SDK_CLAIMS_INVALID', `"${claim}" must be an array of strings`);
  }
  return [...value];
}

/**
 * Build the principal from a verified claims set. `requireClientId`: RFC 9068 access tokens carry
 * `client_id`; first-party session tokens do not (their clientId is '').
 * A token is a service's when `sub` is its own `client_id` and it names no user session or username —
 * the shape of a client-credentials token (docs/contracts.md).
 */
export function toPrincipal(payload: JWTPayload, requireClientId: boolean): Principal {
  const subject = requiredString(payload, 'sub');
  const tokenId = requiredString(payload, 'jti');
  const clientId = requireClientId
    ? requiredString(payload, 'client_id')
    : (optionalString(payload, 'client_id') ?? '');
  const username = optionalString(payload, 'username');
  const sessionId = optionalString(payload, 'sid');
  const roles = stringList(payload, 'roles');
  const scope = payload['scope'];
  if (scope !== undefined && typeof scope !== 'string')
    throw sdkError('SDK_CLAIMS_INVALID', '"scope" must be a string');
  const scopes = scope === undefined ? [] : scope.split(' ').filter((s) => s !== '');
  const audience = typeof payload.aud === 'string' ? [payload.aud] : [...(payload.aud ?? [])];
  const expiresAt = payload.exp as number;
  const kind = subject === clientId && sessionId === undefined && username === undefined ? 'service' : 'user';

  const principal: Principal = {
    kind,
    subject,
    clientId,
    roles,
    scopes,
    audience,
    tokenId,
    expiresAt,
    claims: payload,
  };
  if (username !== undefined) principal.username = username;
  if (sessionId !== undefined) principal.sessionId = sessionId;
  // Cached principals are shared between requests: freeze them so no handler can change another's.
  Object.freeze(roles);
  Object.freeze(scopes);
  Object.freeze(audience);
  Object.freeze(payload);
  return Object.freeze(principal);
}
