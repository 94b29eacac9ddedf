import { errors } from 'oidc-provider';

/**
 * Who may introspect or revoke a token. One policy for both kinds of token: oidc-provider applies it
 * to the tokens it stores (its `allowedPolicy` options, provider.ts), jwt-tokens.ts to JWT access
 * tokens, which oidc-provider does not introspect or revoke itself.
 */

/** The caller of introspection or revocation, and the token it names (oidc-provider's allowedPolicy arguments). */
interface TokenPolicyParties {
  client: { clientId: string; clientAuthMethod?: string | undefined };
  token: { clientId?: string | undefined };
}

/**
 * Who may introspect a token (oidc-provider's `features.introspection.allowedPolicy`, and the JWT
 * introspection of jwt-tokens.ts): a public client only its own tokens, a confidential one any.
 */
export function introspectionAllowed({ client, token }: TokenPolicyParties): boolean {
  return client.clientAuthMethod !== 'none' || token.clientId === client.clientId;
}

/** The refusal of a confidential client's revocation of another client's token. */
export const REVOKE_FOREIGN_TOKEN = 'client is not authorized to revoke the presented token';

/**
 * Who may revoke a token (oidc-provider's `features.revocation.allowedPolicy`, and the JWT revocation
 * of jwt-tokens.ts): only the client it was issued to. Another client's token is ignored for a
 * public client (RFC 7009 answers 200 either way) and refused with invalid_request for a
 * confidential one, which has no excuse for holding it.
 */
export function revocationAllowed({ client, token }: TokenPolicyParties): boolean {
  if (token.clientId === client.clientId) return true;
  if (client.clientAuthMethod === 'none') return false;
  throw new errors.InvalidRequest(REVOKE_FOREIGN_TOKEN);
}
