import { accountServices, accountsConfigOf } from '../accounts/account-services.ts';
import type { IdpRuntime } from '../index.ts';
import { createMfaChallenges, type MfaChallenges } from './mfa-challenges.ts';
import { resolveMfaConfig } from './mfa-config.ts';
import { resolveRelyingParty } from './passkey-config.ts';
import { createPasskeys, type Passkeys } from './passkeys.ts';
import { createSecondFactors, type SecondFactors } from './second-factors.ts';

/**
 * Second factors as one service per identity provider: what this folder holds.
 *
 * - mfa-config.ts: the `idp.mfa` section (policy per role, issuer name, timings);
 * - second-factors.ts: TOTP setup and checks, recovery codes, reset (SQL, audited, brute-force guarded);
 * - secret-box.ts, recovery-codes.ts: the secret encrypted at rest, the codes hashed;
 * - mfa-challenges.ts: sign-ins waiting for their second step;
 * - passkeys.ts, passkey-config.ts: WebAuthn credentials and the relying party they are bound to;
 * - acr.ts: the authentication levels (acr) and methods (amr) of a sign-in;
 * - session-api-second-factor.ts, interaction-second-factor.ts, second-factor-pages.ts: the
 *   second step in the first-party session API and on the hosted pages.
 */
export interface MfaService {
  factors: SecondFactors;
  challenges: MfaChallenges;
  passkeys: Passkeys;
}

const built = new WeakMap<IdpRuntime, MfaService>();

export function mfaServiceOf(idp: IdpRuntime): MfaService {
  const existing = built.get(idp);
  if (existing) return existing;
  const config = resolveMfaConfig((idp.config as { mfa?: unknown }).mfa ?? {});
  const service = {
    factors: createSecondFactors({
      sql: idp.sql,
      state: idp.state,
      audit: accountServices(idp).audit,
      config,
      bruteForce: accountsConfigOf(idp).bruteForce,
      keyEncryptionSecret: idp.config.keyEncryptionSecret,
    }),
    challenges: createMfaChallenges(idp.state, config.challengeTtlSeconds),
    passkeys: createPasskeys({
      sql: idp.sql,
      state: idp.state,
      audit: accountServices(idp).audit,
      logger: idp.logger,
      relyingParty: resolveRelyingParty(config, idp.issuer),
    }),
  };
  built.set(idp, service);
  return service;
}
