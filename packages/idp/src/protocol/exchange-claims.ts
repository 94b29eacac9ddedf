/**
 * Claims a token-exchange token carries beyond oidc-provider's (token-exchange.ts sets them,
 * extraTokenClaims in provider.ts reads them). Its own module so that neither imports the other.
 */

/** RFC 8693 §4.1 `act`: the acting party, with earlier actors nested inside. */
export interface Actor {
  sub: string;
  act?: Actor;
}

export interface ExchangeClaims {
  act: Actor;
  sid?: string;
}

const claims = new WeakMap<object, ExchangeClaims>();

export function setExchangedTokenClaims(token: object, value: ExchangeClaims): void {
  claims.set(token, value);
}

export function exchangedTokenClaims(token: object): ExchangeClaims | undefined {
  return claims.get(token);
}
