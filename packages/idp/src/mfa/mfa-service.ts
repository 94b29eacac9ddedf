import { accountServices, accountsConfigOf } from '../account-services.ts';
import type { IdpRuntime } from '../index.ts';
import { createMfaChallenges, type MfaChallenges } from './mfa-challenges.ts';
import { resolveMfaConfig } from './mfa-config.ts';
import { createSecondFactors, type SecondFactors } from './second-factors.ts';

/**
 * Second factors as one service per identity provider: what this folder holds.
 *
 * - mfa-config.ts: the `idp.mfa` section (policy per role, issuer name, timings);
 * - second-factors.ts: TOTP setup and checks, recovery codes, reset (SQL, audited, brute-force guarded);
 * - secret-box.ts, recovery-codes.ts: the secret encrypted at rest, the codes hashed;
 * - mfa-challenges.ts: sign-ins waiting for their second step;
 * - session-api-second-factor.ts, interaction-second-factor.ts, second-factor-pages.ts: the
 *   second step in the first-party session API and on the hosted pages.
 */
export interface MfaService {
  factors: SecondFactors;
  challenges: MfaChallenges;
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
  };
  built.set(idp, service);
  return service;
}
