import { createHash, type X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { sdkError } from './errors.ts';
import type { Principal } from './principal.ts';

/** RFC 8705 §3.1: base64url of the SHA-256 of the certificate's DER encoding. */
export function certificateThumbprint(cert: X509Certificate | Uint8Array): string {
  const der = cert instanceof Uint8Array ? cert : cert.raw;
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * A token with a `cnf` claim is usable only by who holds its key (RFC 7800). The one confirmation
 * method supported is an mTLS certificate thumbprint (`x5t#S256`, RFC 8705 §3): the certificate of
 * this TLS connection must be the one the token was issued to. Any other `cnf` (DPoP `jkt`, ...) is
 * refused: the sdk cannot check it, and accepting it would make the binding worthless.
 */
export function checkCertificateBinding(principal: Principal, presentedThumbprint: string | undefined): void {
  const cnf = principal.claims['cnf'];
  if (cnf === undefined) return;
  const bound =
    cnf !== null && typeof cnf === 'object' ? (cnf as Record<string, unknown>)['x5t#S256'] : undefined;
  if (typeof bound !== 'string') {
    throw sdkError('SDK_TOKEN_BINDING_INVALID', 'The token is bound by an unsupported confirmation method');
  }
  if (presentedThumbprint === undefined) throw sdkError('SDK_TOKEN_BINDING_INVALID');
  if (presentedThumbprint !== bound) {
    throw sdkError('SDK_TOKEN_BINDING_INVALID', 'The token is bound to another client certificate');
  }
}

/** Thumbprint of the client certificate presented on this TLS connection, if any. */
export function peerCertificateThumbprint(socket: Socket | undefined): string | undefined {
  const tls = socket as TLSSocket | undefined;
  if (tls?.encrypted !== true) return undefined;
  const cert = tls.getPeerX509Certificate?.();
  return cert ? certificateThumbprint(cert) : undefined;
}
