import type { IncomingMessage } from 'node:http';
import { authzErrors } from '../errors.ts';

/** Who asked: the verified service token's subject and client, kept for the audit line. */
export interface Caller {
  subject: string;
  clientId: string;
  scopes: string[];
  /** A person's token or a service's (the SDK's principal tells them apart). */
  kind?: 'user' | 'service';
  /** The `roles` claim of the token (an administrator's role is looked for in it). */
  roles?: readonly string[];
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
  /** Administrators, off unless given: people's tokens for another audience of the same idp. */
  admins?: AdminCallers | undefined;
}

/**
 * People who administer permissions from the admin console, with the token the console already holds:
 * a token the same idp issued for `verifier`'s audience (the admin API's) whose `roles` claim holds
 * `role` may read and write.
 */
export interface AdminCallers {
  verifier: AccessTokenVerifier;
  role: string;
}

export interface CallerAuth {
  /** Verifies the bearer token and its scope; throws AUTHZ_UNAUTHENTICATED (401) or AUTHZ_FORBIDDEN (403). */
  authorize(req: IncomingMessage, access: 'read' | 'write'): Promise<Caller>;
  /** The caller `authorize` accepted for this request, if any. */
  callerOf(req: IncomingMessage): Caller | undefined;
}

/**
 * The permission service's caller check: a Gatehouse service token (verified against the idp's JWKS by
 * the SDK's verifier) carrying the read scope for queries and the write scope for changes; and, when
 * `admins` is given, an administrator's token for the admin API (read and write).
 */
export function createCallerAuth(options: CallerAuthOptions): CallerAuth {
  const callers = new WeakMap<IncomingMessage, Caller>();
  return {
    async authorize(req, access) {
      let caller: Caller;
      try {
        caller = await options.verifier.verifyAuthorization(req.headers.authorization);
      } catch (err) {
        const admin = options.admins ? await adminCaller(options.admins, req) : undefined;
        if (admin) {
          callers.set(req, admin);
          return admin;
        }
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

/**
 * The administrator a token names, when it is one: verified by the admins' own verifier (its audience
 * is not the service's), then the role; undefined when the token is not one. A valid token without the role is refused here (403), not
 * treated as a bad token, so the person sees why.
 */
async function adminCaller(admins: AdminCallers, req: IncomingMessage): Promise<Caller | undefined> {
  let caller: Caller;
  try {
    caller = await admins.verifier.verifyAuthorization(req.headers.authorization);
  } catch {
    // Not an administrator's token either: the service verifier's reason is the one answered.
    return undefined;
  }
  // Administrators are people; a service calls with a service token of the permission service's own.
  if (caller.kind !== 'user') return undefined;
  if (!caller.roles?.includes(admins.role)) {
    throw authzErrors.create('AUTHZ_FORBIDDEN', `the person's token lacks the role '${admins.role}'`);
  }
  return caller;
}
