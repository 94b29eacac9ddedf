import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { decodeIdentityValue, decodeRolesHeader, decodeScopesHeader } from './identity-header-encoding.ts';
import type { Principal } from './principal.ts';
import { IDENTITY_HEADER } from './wire-contract.ts';

export interface MtlsTrustOptions {
  /**
   * DNS names of the gateway's client certificate (its subjectAltName DNS entries, or its CN when it
   * has none). The certificate chain itself is checked by the TLS server (`requestCert: true`, `ca`).
   */
  allowedSubjects: string[];
}

/** True when the peer presented a certificate the server's CA verified, naming an allowed subject. */
export function isTrustedPeer(socket: Socket | undefined, options: MtlsTrustOptions): boolean {
  const tls = socket as TLSSocket | undefined;
  if (tls?.encrypted !== true || tls.authorized !== true) return false;
  const cert = tls.getPeerX509Certificate?.();
  if (!cert) return false;
  // X509Certificate.checkHost: no hand-parsing of subjectAltName, no wildcard matching.
  return options.allowedSubjects.some(
    (name) => cert.checkHost(name, { wildcards: false, partialWildcards: false }) !== undefined,
  );
}

function single(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * The gateway's identity headers, read only after the peer proved it is the gateway. No token id nor
 * expiry travels in them: `tokenId` is '' and `expiresAt` 0.
 */
export function principalFromHeaders(
  header: (name: string) => string | string[] | undefined,
): Principal | undefined {
  const rawSubject = single(header(IDENTITY_HEADER.userId));
  if (rawSubject === undefined || rawSubject === '') return undefined;
  const subject = decodeIdentityValue(rawSubject);
  const rawUsername = single(header(IDENTITY_HEADER.userName));
  const username = rawUsername === undefined ? undefined : decodeIdentityValue(rawUsername);
  const clientId = decodeIdentityValue(single(header(IDENTITY_HEADER.clientId)) ?? '');
  const roles = decodeRolesHeader(single(header(IDENTITY_HEADER.userRoles)) ?? '');
  const scopes = decodeScopesHeader(single(header(IDENTITY_HEADER.scopes)) ?? '');
  const principal: Principal = {
    kind: subject === clientId && username === undefined ? 'service' : 'user',
    subject,
    clientId,
    roles,
    scopes,
    audience: [],
    tokenId: '',
    expiresAt: 0,
    claims: {},
  };
  if (username !== undefined) principal.username = username;
  return principal;
}
