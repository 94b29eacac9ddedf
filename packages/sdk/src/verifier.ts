import { type CompactVerifyGetKey, compactVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { parseBearer } from './bearer.ts';
import { checkCertificateBinding } from './certificate-binding.ts';
import { checkClaimTypes } from './claim-types.ts';
import { checkClaimValues } from './claim-values.ts';
import { parseCompactJws } from './compact-jws.ts';
import { canonicalTokenText } from './ecdsa-canonical.ts';
import { SdkError, type SdkErrorCode, sdkError } from './errors.ts';
import { remoteKeySource } from './jwks-key-source.ts';
import { type Principal, toPrincipal } from './principal.ts';
import { checkRevocation, type Revocation, RevocationList, revocationNames } from './revocation-list.ts';
import { parseJsonObject } from './strict-json.ts';
import { TokenCache } from './token-cache.ts';
import type { HeaderRules } from './token-header.ts';
import { SESSION_AUDIENCE, SESSION_TOKEN_TYPE } from './wire-contract.ts';

export interface VerifierOptions {
  /** Exact match on `iss`. */
  issuer: string;
  /** `aud` must contain one of these (access tokens). */
  audiences: string[];
  /** Default `${issuer}/jwks`. */
  jwksUri?: string;
  /** Allow-list, default ['ES256', 'EdDSA']; only asymmetric algorithms may be listed. */
  algorithms?: string[];
  /** Default 60, at most 60. */
  clockToleranceSec?: number;
  /** Default 8192 characters; longer tokens are refused before parsing. */
  maxTokenLength?: number;
  /** Longest accepted `exp − iat` of an access token, default 86400 (a day). */
  maxTokenLifetimeSec?: number;
  /** Longest accepted `exp − iat` of a session token, default 31536000 (the identity provider's longest session). */
  maxSessionLifetimeSec?: number;
  /** Minimum time between JWKS refetches caused by an unknown `kid`, default 30000. */
  jwksCooldownMs?: number;
  /** Verified-token cache entries, default 10000; 0 disables the cache. */
  cacheSize?: number;
  /** Asked once per token, before it is cached; true refuses it with SDK_TOKEN_REVOKED. */
  isRevoked?: (p: Principal) => Promise<boolean>;
  /** Inject keys (tests, or keys known in advance); overrides jwksUri. */
  getKey?: JWTVerifyGetKey;
  /** Where an unexpected verification failure (SDK_VERIFICATION_FAILED) is reported with its cause (pino-compatible). */
  logger?: VerifierLogger;
}

export interface VerifierLogger {
  error(fields: Record<string, unknown>, message: string): void;
}

export interface VerifierStats {
  hits: number;
  misses: number;
}

export interface VerifyContext {
  /**
   * `certificateThumbprint(...)` of the TLS client certificate of this request, when there is one.
   * A certificate-bound token (RFC 8705 `cnf.x5t#S256`) is accepted only with its certificate.
   */
  clientCertificateThumbprint?: string;
}

export interface Verifier {
  /** An RFC 9068 access token: `typ` at+jwt, `aud` one of `audiences`. */
  verifyAccessToken(token: string, context?: VerifyContext): Promise<Principal>;
  /**
   * The access token of an `Authorization` header: `verifyAccessToken(parseBearer(header))`, with
   * the same answers and errors, and cheaper for a token already verified and cached.
   */
  verifyAuthorization(
    authorizationHeader: string | string[] | undefined,
    context?: VerifyContext,
  ): Promise<Principal>;
  /** A first-party session token: `typ` gh-session+jwt, `aud` "gatehouse-session". */
  verifySessionToken(token: string): Promise<Principal>;
  /** Evicts matching cached tokens and refuses them until `expiresAt` (epoch seconds); see `Revocation`. */
  revoke(r: Revocation): void;
  readonly stats: VerifierStats;
}

/** Signature algorithms with a public verification key; HMAC and "none" can never be configured. */
const ASYMMETRIC_ALGORITHMS = new Set([
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
]);
const MAX_CLOCK_TOLERANCE_SEC = 60;

interface Profile {
  header: HeaderRules;
  maxLifetimeSec: number;
  audiences: string[];
  requireClientId: boolean;
  cache: TokenCache;
  inflight: Map<string, Promise<Principal>>;
}

function nowSec(): number {
  return Date.now() / 1000;
}

function fromJoseError(err: unknown): SdkError {
  if (err instanceof SdkError) return err;
  const e = err as { code?: unknown; claim?: unknown; reason?: unknown; message?: unknown } | null;
  const map = (code: SdkErrorCode, message?: string) => sdkError(code, message, { cause: err });
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED':
      return map('SDK_TOKEN_EXPIRED');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'iss') return map('SDK_ISSUER_INVALID');
      if (e.claim === 'aud') return map('SDK_AUDIENCE_INVALID');
      if (e.claim === 'nbf' && e.reason === 'check_failed') return map('SDK_TOKEN_NOT_YET_VALID');
      return map('SDK_CLAIMS_INVALID', typeof e.message === 'string' ? e.message : undefined);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return map('SDK_SIGNATURE_INVALID');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return map('SDK_KEY_UNKNOWN');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return map('SDK_ALG_NOT_ALLOWED');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return map('SDK_TOKEN_MALFORMED');
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return map('SDK_JWKS_UNAVAILABLE');
    default:
      // e.g. a key of the wrong type for the algorithm, a key import or JWKS fault: the token is not
      // accepted, and the fault is not dressed up as a bad signature that nobody would look into.
      return map('SDK_VERIFICATION_FAILED');
  }
}

function checkOptions(options: VerifierOptions): void {
  if (typeof options.issuer !== 'string' || options.issuer === '')
    throw new TypeError('issuer must be a string');
  if (
    !Array.isArray(options.audiences) ||
    options.audiences.length === 0 ||
    !options.audiences.every((a) => typeof a === 'string' && a !== '')
  ) {
    throw new TypeError('audiences must be a non-empty array of strings');
  }
  for (const alg of options.algorithms ?? []) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg))
      throw new TypeError(`algorithm ${alg} is not an asymmetric JWS algorithm`);
  }
  if (options.algorithms?.length === 0) throw new TypeError('algorithms must not be empty');
  const tolerance = options.clockToleranceSec;
  if (tolerance !== undefined && !(tolerance >= 0 && tolerance <= MAX_CLOCK_TOLERANCE_SEC)) {
    throw new TypeError(`clockToleranceSec must be between 0 and ${MAX_CLOCK_TOLERANCE_SEC}`);
  }
  for (const name of ['maxTokenLifetimeSec', 'maxSessionLifetimeSec'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new TypeError(`${name} must be a positive integer`);
    }
  }
  for (const name of ['maxTokenLength', 'jwksCooldownMs', 'cacheSize'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new TypeError(`${name} must be a non-negative integer`);
    }
  }
}

/** Verify access and session tokens locally against the issuer's keys (RFC 8725, RFC 9068). */
export function createVerifier(options: VerifierOptions): Verifier {
  checkOptions(options);
  const algorithms = options.algorithms ?? ['ES256', 'EdDSA'];
  const algorithmSet = new Set(algorithms);
  const clockTolerance = options.clockToleranceSec ?? MAX_CLOCK_TOLERANCE_SEC;
  const maxTokenLength = options.maxTokenLength ?? 8192;
  const cacheSize = options.cacheSize ?? 10_000;
  const getKey =
    options.getKey ??
    remoteKeySource(options.jwksUri ?? `${options.issuer}/jwks`, options.jwksCooldownMs ?? 30_000);
  const revocations = new RevocationList();
  const stats: VerifierStats = { hits: 0, misses: 0 };

  const access: Profile = {
    header: { algorithms: algorithmSet, maxTokenLength, typ: 'at+jwt' },
    maxLifetimeSec: options.maxTokenLifetimeSec ?? 86_400,
    audiences: [...options.audiences],
    requireClientId: true,
    cache: new TokenCache(cacheSize),
    inflight: new Map(),
  };
  const session: Profile = {
    header: { algorithms: algorithmSet, maxTokenLength, typ: SESSION_TOKEN_TYPE },
    maxLifetimeSec: options.maxSessionLifetimeSec ?? 31_536_000,
    audiences: [SESSION_AUDIENCE],
    requireClientId: false,
    cache: new TokenCache(cacheSize),
    inflight: new Map(),
  };

  /** The signature (jose), then the claims read before (`claims`), then the principal. */
  async function verifyUncached(
    token: string,
    claims: Record<string, unknown>,
    profile: Profile,
  ): Promise<Principal> {
    try {
      await compactVerify(token, getKey as CompactVerifyGetKey, { algorithms });
    } catch (err) {
      const refusal = fromJoseError(err);
      if (refusal.code === 'SDK_VERIFICATION_FAILED') {
        options.logger?.error({ code: refusal.code, err }, 'token verification failed unexpectedly');
      }
      throw refusal;
    }
    checkClaimValues(
      claims,
      { issuer: options.issuer, audiences: profile.audiences, clockToleranceSec: clockTolerance },
      nowSec(),
    );
    return toPrincipal(claims as JWTPayload, profile.requireClientId);
  }

  /** The cached principal of a token verified before, checked for this use; undefined when not cached. */
  function fromCache(
    token: string,
    profile: Profile,
    context: VerifyContext | undefined,
  ): Principal | undefined {
    const now = nowSec();
    const cached = profile.cache.get(token, now);
    if (cached === undefined) return undefined;
    if (revocations.isRevoked(cached, now)) throw sdkError('SDK_TOKEN_REVOKED');
    checkCertificateBinding(cached, context?.clientCertificateThumbprint);
    stats.hits++;
    return cached;
  }

  /**
   * A token verified before is answered from the cache by its exact text, without parsing: only a
   * token that passed every check of `verifyFirstUse`, or the ECDSA twin of one (read strictly too),
   * is ever a key of the cache. Not an async function, so that a hit allocates no suspended frame.
   */
  function verify(token: unknown, profile: Profile, context: VerifyContext | undefined): Promise<Principal> {
    try {
      if (typeof token !== 'string' || token === '') throw sdkError('SDK_TOKEN_MISSING');
      if (token.length > maxTokenLength) throw sdkError('SDK_TOKEN_TOO_LARGE');
      const cached = fromCache(token, profile, context);
      return cached !== undefined ? Promise.resolve(cached) : verifyFirstUse(token, profile, context);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async function verifyFirstUse(
    token: string,
    profile: Profile,
    context: VerifyContext | undefined,
  ): Promise<Principal> {
    // Everything about the token that needs no key, strictly, before any cryptography.
    const jws = parseCompactJws(token, profile.header);
    const claims = parseJsonObject(jws.payload, 'claims set');
    checkClaimTypes(claims, profile.maxLifetimeSec, nowSec());
    // An ECDSA token's twin spelling `(r, n − s)` is the same token: it is verified, cached and
    // revoked as its low-s text, so a twin of a token verified before is answered from that entry.
    // Once the canonical text is cached, the twin becomes a second key of its entry, so that it too
    // is answered without parsing.
    const canonical = canonicalTokenText(token, jws);
    if (canonical !== token) {
      const twin = fromCache(canonical, profile, context);
      if (twin !== undefined) {
        profile.cache.addTwin(canonical, token);
        return twin;
      }
    }
    stats.misses++;
    const principal = await verifyOnce(canonical, claims, profile);
    if (canonical !== token) profile.cache.addTwin(canonical, token);
    // Per use, never cached: a bound token must come with its certificate every time.
    checkCertificateBinding(principal, context?.clientCertificateThumbprint);
    return principal;
  }

  /** Concurrent first uses of one token share one verification (and one `isRevoked` question). */
  function verifyOnce(token: string, claims: Record<string, unknown>, profile: Profile): Promise<Principal> {
    let pending = profile.inflight.get(token);
    if (!pending) {
      pending = verifyAndCache(token, claims, profile).finally(() => profile.inflight.delete(token));
      profile.inflight.set(token, pending);
    }
    return pending;
  }

  async function verifyAndCache(
    token: string,
    claims: Record<string, unknown>,
    profile: Profile,
  ): Promise<Principal> {
    const principal = await verifyUncached(token, claims, profile);
    if (revocations.isRevoked(principal, nowSec())) throw sdkError('SDK_TOKEN_REVOKED');
    if (options.isRevoked) {
      let revoked: boolean;
      try {
        revoked = await options.isRevoked(principal);
      } catch (cause) {
        // Fail closed: a token whose revocation cannot be checked is not accepted.
        throw sdkError('SDK_REVOCATION_UNAVAILABLE', undefined, { cause });
      }
      // A revocation may have arrived while we were asking.
      if (revoked || revocations.isRevoked(principal, nowSec())) throw sdkError('SDK_TOKEN_REVOKED');
    }
    profile.cache.set(token, principal, nowSec());
    return principal;
  }

  function verifyAuthorization(
    header: string | string[] | undefined,
    context: VerifyContext | undefined,
  ): Promise<Principal> {
    try {
      // The usual spelling, `Bearer <token>`, with a token verified before: the token cached is
      // a canonical compact JWS (compact-jws.ts), whose characters are a subset of RFC 6750's b64token, so
      // parseBearer would return exactly this text; its check over the whole token is skipped.
      // Anything else (other spellings, tokens not cached) takes the full path below.
      if (typeof header === 'string' && header.startsWith('Bearer ') && header.length - 7 <= maxTokenLength) {
        const cached = fromCache(header.slice(7), access, context);
        if (cached !== undefined) return Promise.resolve(cached);
      }
      return verify(parseBearer(header), access, context);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  return {
    verifyAccessToken: (token, context) => verify(token, access, context),
    verifyAuthorization,
    verifySessionToken: (token) => verify(token, session, undefined),
    revoke(r) {
      checkRevocation(r);
      revocations.add(r, nowSec());
      const matches = (p: Principal) => revocationNames(r, p);
      access.cache.evict(matches);
      session.cache.evict(matches);
    },
    stats,
  };
}
