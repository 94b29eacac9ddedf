/**
 * The verifier checks the claims it read once itself (claim-values.ts) instead of letting jose parse
 * them again: this pins that it decides as jose's `jwtVerify` did, with the same code, for any mix
 * of present, missing, right and wrong `iss`, `aud`, `sub`, `jti` and times around the tolerance.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { UnsecuredJWT } from 'jose';
import { checkClaimValues } from '../src/claim-values.ts';
import { SdkError } from '../src/errors.ts';

const ISSUER = 'https://issuer.test/auth';
const AUDIENCES = ['orders', 'payments'];
const TOLERANCE = 60;

/** How the verifier answered with jose's `jwtVerify` (its options and its code mapping then). */
function joseDecision(claims: Record<string, unknown>, now: number): string {
  try {
    const jwt = new UnsecuredJWT(claims).encode();
    UnsecuredJWT.decode(jwt, {
      issuer: ISSUER,
      audience: AUDIENCES,
      clockTolerance: TOLERANCE,
      requiredClaims: ['exp', 'sub', 'jti'],
      currentDate: new Date(now * 1000),
    });
  } catch (err) {
    const e = err as { code?: string; claim?: string; reason?: string };
    if (e.code === 'ERR_JWT_EXPIRED') return 'SDK_TOKEN_EXPIRED';
    if (e.claim === 'iss') return 'SDK_ISSUER_INVALID';
    if (e.claim === 'aud') return 'SDK_AUDIENCE_INVALID';
    if (e.claim === 'nbf' && e.reason === 'check_failed') return 'SDK_TOKEN_NOT_YET_VALID';
    return 'SDK_CLAIMS_INVALID';
  }
  const iat = claims['iat'];
  if (typeof iat === 'number' && iat > now + TOLERANCE) return 'SDK_TOKEN_NOT_YET_VALID';
  return 'accepted';
}

function ourDecision(claims: Record<string, unknown>, now: number): string {
  try {
    checkClaimValues(claims, { issuer: ISSUER, audiences: AUDIENCES, clockToleranceSec: TOLERANCE }, now);
    return 'accepted';
  } catch (err) {
    assert.ok(err instanceof SdkError);
    return err.code;
  }
}

const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const offset = fc.integer({ min: -150, max: 150 });

describe('claim values', () => {
  test('decide as jose did, code for code', () => {
    const now = 1_800_000_000;
    fc.assert(
      fc.property(
        maybe(fc.constantFrom(ISSUER, `${ISSUER}/`, 'https://other.test')),
        maybe(
          fc.oneof(fc.constantFrom('orders', 'other'), fc.array(fc.constantFrom('orders', 'payments', 'x'))),
        ),
        maybe(fc.constant('user-1')),
        maybe(fc.constant('jti-1')),
        offset,
        maybe(offset),
        maybe(offset),
        (iss, aud, sub, jti, exp, nbf, iat) => {
          const claims: Record<string, unknown> = { exp: now + exp };
          for (const [k, v] of Object.entries({ iss, aud, sub, jti })) if (v !== undefined) claims[k] = v;
          if (nbf !== undefined) claims['nbf'] = now + nbf;
          if (iat !== undefined) claims['iat'] = now + iat;
          assert.equal(ourDecision(claims, now), joseDecision(claims, now), JSON.stringify(claims));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('at the edges of the tolerance', () => {
    const now = 1_800_000_000;
    const base = { iss: ISSUER, aud: 'orders', sub: 'u', jti: 'j' };
    for (const claims of [
      { ...base, exp: now - TOLERANCE },
      { ...base, exp: now - TOLERANCE + 1 },
      { ...base, exp: now + 10, nbf: now + TOLERANCE },
      { ...base, exp: now + 10, nbf: now + TOLERANCE + 1 },
      { ...base, exp: now + 10, iat: now + TOLERANCE + 1 },
    ]) {
      assert.equal(ourDecision(claims, now + 0.9), joseDecision(claims, now), JSON.stringify(claims));
    }
  });
});
