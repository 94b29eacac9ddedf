import type { Principal } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';

/**
 * A route's step-up requirement (RFC 9470): how the person behind the token must have signed in.
 *
 * - `acr`: the token's `acr` claim must be one of these (the identity provider's levels, for example
 *   `urn:gatehouse:acr:mfa`: a second factor; docs/mfa.md);
 * - `maxAge`: the token's `auth_time` must be at most this many seconds ago.
 *
 * A token that falls short gets 401 `GW_STEP_UP_REQUIRED` with
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication"` and the `acr_values` (and
 * `max_age`, when time is the reason) to ask the identity provider for; a browser on a BFF session
 * is sent to sign in again at that level instead (pipeline/answer-error.ts). A service token (client
 * credentials) has no person behind it and never passes.
 */
export interface StepUpRequirement {
  acr?: string[] | undefined;
  maxAge?: number | undefined;
}

/** What to ask the identity provider for, on the refusal (details) and in the BFF's login. */
export interface StepUpAsk {
  acrValues?: string | undefined;
  maxAge?: number | undefined;
}

const REALM = 'Bearer realm="gatehouse"';

export function checkStepUp(
  requirement: StepUpRequirement,
  principal: Principal,
  nowSec: number = Math.floor(Date.now() / 1000),
): void {
  const acrValues = requirement.acr?.join(' ');
  const acr = principal.claims['acr'];
  if (
    requirement.acr &&
    (principal.kind !== 'user' || typeof acr !== 'string' || !requirement.acr.includes(acr))
  ) {
    throw stepUpRequired(
      { acrValues, maxAge: requirement.maxAge },
      'A stronger sign-in is required for this resource',
      false,
    );
  }
  if (requirement.maxAge !== undefined) {
    const authTime = principal.claims['auth_time'];
    if (principal.kind !== 'user' || typeof authTime !== 'number' || nowSec - authTime > requirement.maxAge) {
      throw stepUpRequired(
        { acrValues, maxAge: requirement.maxAge },
        'A more recent sign-in is required for this resource',
        true,
      );
    }
  }
}

function stepUpRequired(ask: StepUpAsk, description: string, timeIsTheReason: boolean) {
  // RFC 9470 §3: acr_values names what would satisfy the resource; max_age only when it is the reason.
  let challenge = `${REALM}, error="insufficient_user_authentication", error_description="${description}"`;
  if (ask.acrValues) challenge += `, acr_values="${ask.acrValues}"`;
  if (timeIsTheReason && ask.maxAge !== undefined) challenge += `, max_age=${ask.maxAge}`;
  return gatewayErrors.create('GW_STEP_UP_REQUIRED', description, {
    headers: { 'www-authenticate': challenge },
    details: { acrValues: ask.acrValues, maxAge: ask.maxAge },
  });
}
