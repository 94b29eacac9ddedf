import { idpErrors } from '../errors.ts';
import type { UpstreamProvider } from './broker-config.ts';

/**
 * What an upstream's claims say about the person, by the provider's mapping. The email is kept
 * only when the upstream says it verified it (a boolean `true`, or the string "true" some
 * providers send): an unverified address never reaches an account.
 */
export interface MappedIdentity {
  subject: string;
  username: string;
  email?: string | undefined;
  name?: string | undefined;
  roles: string[];
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= 256
    ? value
    : typeof value === 'number' && Number.isSafeInteger(value)
      ? String(value)
      : undefined;

export function mapClaims(provider: UpstreamProvider, claims: Record<string, unknown>): MappedIdentity {
  const subject = text(claims[provider.claims.subject]);
  if (!subject) {
    throw idpErrors.create('IDP_BROKER_RESPONSE_INVALID', `The provider sent no ${provider.claims.subject}`);
  }
  const verifiedFlag = provider.claims.emailVerified ? claims[provider.claims.emailVerified] : undefined;
  const verified = verifiedFlag === true || verifiedFlag === 'true';
  const email = verified ? text(claims[provider.claims.email]) : undefined;
  const proposed = text(claims[provider.claims.username]) ?? text(claims[provider.claims.email]) ?? subject;
  // An address proposes its local part; the username rule (username.ts) still decides.
  const username = (proposed.includes('@') ? proposed.slice(0, proposed.indexOf('@')) : proposed).slice(
    0,
    64,
  );
  const roles = new Set(provider.roles.defaultRoles);
  if (provider.roles.claim) {
    const raw = claims[provider.roles.claim];
    const groups = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
    for (const group of groups) {
      if (typeof group !== 'string') continue;
      for (const role of provider.roles.map[group] ?? []) roles.add(role);
    }
  }
  return { subject, username, email, name: text(claims[provider.claims.name]), roles: [...roles].sort() };
}
