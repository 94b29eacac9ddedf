import { idpErrors } from '../errors.ts';
import type { MfaConfig } from './mfa-config.ts';

/** The WebAuthn relying party as the checks use it: every value known, checked against the others. */
export interface RelyingParty {
  rpId: string;
  rpName: string;
  origins: string[];
  challengeTtlSeconds: number;
  /** False when the RP ID is an address (an issuer on an IP, no passkeys configured): browsers refuse it. */
  usable: boolean;
}

const isLoopbackName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/**
 * `idp.mfa.passkeys` with its defaults (the issuer's host and origin), refused at start-up when a
 * browser would refuse it anyway: every origin's host must be the RP ID or below it (WebAuthn §5.1.3),
 * plain http only on localhost (a secure context), and the RP ID a domain name, not an address.
 */
export function resolveRelyingParty(config: MfaConfig, issuer: string): RelyingParty {
  const issuerUrl = new URL(issuer);
  const rpId = config.passkeys.rpId ?? issuerUrl.hostname;
  const origins = (config.passkeys.origins ?? [issuerUrl.origin]).map((o) => new URL(o).origin);
  const refuse = (why: string) =>
    idpErrors.create('IDP_CONFIG_INVALID', `invalid idp.mfa.passkeys configuration: ${why}`);
  // Checked only when passkeys are configured or the issuer could carry them: an issuer on an IP
  // address (tests, a bare development box) simply has no passkeys until one is configured.
  const usable = !(/^[0-9.]+$/.test(rpId) || rpId.includes(':') || rpId.startsWith('['));
  if (!usable && config.passkeys.rpId !== undefined)
    throw refuse(`rpId ${rpId} must be a domain name, not an address`);
  for (const origin of origins) {
    const { hostname, protocol } = new URL(origin);
    if (hostname !== rpId && !hostname.endsWith(`.${rpId}`)) {
      if (config.passkeys.rpId !== undefined || config.passkeys.origins !== undefined)
        throw refuse(`origin ${origin} is not on the RP ID ${rpId}`);
    }
    if (protocol !== 'https:' && !isLoopbackName(hostname) && config.passkeys.origins !== undefined) {
      throw refuse(`origin ${origin} must be https (browsers offer passkeys only to secure contexts)`);
    }
  }
  return {
    rpId,
    rpName: config.passkeys.rpName ?? config.issuer,
    origins,
    challengeTtlSeconds: config.passkeys.challengeTtlSeconds,
    usable,
  };
}
