import type { IncomingMessage } from 'node:http';
import { authzErrors } from '../errors.ts';

/** Who asked: the verified service token's subject and client, kept for the audit line. */
export interface Caller {
  subject: string;
  clientId: string;
  scopes: string[];
}

/** The part of `@gatehouse/sdk`'s verifier the service uses (so the engine does not import the SDK). */
export interface AccessTokenVerifier {
  verifyAuthorization(header: string | string[] | undefined): Promise<Caller>;
}

export interface CallerAuthOptions {
  verifier: AccessTokenVerifier;
  /** Scope for checks, lists, reads and AuthZEN. */
  readScope: string;
  /** Scope for stores, models and tuple writes; it also allows everything the read scope does. */
  writeScope: string;
}

export interface CallerAuth {
  /** Verifies the bearer token and its scope; throws AUTHZ_UNAUTHENTICATED (401) or AUTHZ_FORBIDDEN (403). */
  authorize(req: IncomingMessage, access: 'read' | 'write'): Promise<Caller>;
  /** The caller `authorize` accepted for this request, if any. */
  callerOf(req: IncomingMessage): Caller | undefined;
}

/**
 * The permission service's caller check: a Gatehouse service token (verified against the idp's JWKS by
 * the SDK's verifier) carrying the read scope for queries and the write scope for changes.
 */
export function createCallerAuth(options: CallerAuthOptions): CallerAuth {
  const callers = new WeakMap<IncomingMessage, Caller>();
  return {
    async authorize(req, access) {
      let caller: Caller;
      try {
        caller = await options.verifier.verifyAuthorization(req.headers.authorization);
      } catch (err) {
        const reason = err instanceof Error ? err.message : 'invalid token';
        throw authzErrors.create(
          'AUTHZ_UNAUTHENTICATED',
          `the request needs a valid access token: ${reason}`,
          {
            headers: { 'www-authenticate': 'Bearer realm="gatehouse-authz"' },
            cause: err,
          },
        );
      }
      const wanted = access === 'write' ? [options.writeScope] : [options.readScope, options.writeScope];
      if (!wanted.some((s) => caller.scopes.includes(s))) {
        throw authzErrors.create(
          'AUTHZ_FORBIDDEN',
          `the access token lacks the scope '${wanted[0]}' this ${access} needs`,
          {
            headers: {
              'www-authenticate': `Bearer realm="gatehouse-authz", error="insufficient_scope", scope="${wanted[0]}"`,
            },
          },
        );
      }
      callers.set(req, caller);
      return caller;
    },
    callerOf: (req) => callers.get(req),
  };
}
