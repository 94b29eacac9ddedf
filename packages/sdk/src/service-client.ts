import { createHash } from 'node:crypto';
import type { ClientCredentials } from './client-authentication.ts';
import {
  discoverTokenEndpoint,
  requestToken,
  TokenRequestFailure,
  type TokenResponse,
  unavailable,
} from './token-request.ts';

export interface ServiceClientOptions {
  /** The token endpoint; or give `issuer` and it is read from the discovery document. */
  tokenEndpoint?: string;
  issuer?: string;
  clientId: string;
  /** `client_secret_basic` with `clientSecret`, or `private_key_jwt` with `privateKey` and `kid`. */
  credentials: ClientCredentials;
  /** Scope asked for when a call names none. */
  scope?: string;
  /** Refresh this long before expiry (capped at half the token's lifetime). Default 30. */
  refreshBeforeExpirySec?: number;
  /** Token endpoint timeout. Default 5000. */
  timeoutMs?: number;
  /** After a failed refresh, wait `initialMs`, doubling up to `maxMs`. Defaults 500 and 30000. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Default the global fetch (undici). */
  fetch?: typeof fetch;
}

export interface TokenOptions {
  /** RFC 8707 `resource`: the service the token is for. Default: the identity provider's default audience. */
  audience?: string;
  scope?: string;
}

export interface ExchangeOptions {
  /** The caller's access token this service received (RFC 8693 `subject_token`). */
  subjectToken: string;
  /** The service the narrowed token is for (`resource`). */
  audience: string;
  /** The narrowed scope; must be within what the subject token allows (the identity provider decides). */
  scope?: string;
}

export interface ServiceClient {
  /** A bearer token for that audience: cached, refreshed before expiry, at most one refresh in flight. */
  getToken(options?: TokenOptions): Promise<string>;
  /** `fetch` with `Authorization: Bearer <token for options.audience>`. */
  fetch(url: string | URL, init?: RequestInit, options?: TokenOptions): Promise<Response>;
  /**
   * Delegation (RFC 8693 token exchange): a token for `audience` that carries the user of
   * `subjectToken` as `sub` and this service in `act`. Cached per subject token, audience and scope
   * until shortly before it expires; one exchange in flight per key.
   */
  exchangeToken(options: ExchangeOptions): Promise<string>;
  /** Forget every cached token. */
  clear(): void;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Exchanged tokens kept, least recently used dropped first: one per user and callee at most. */
const MAX_EXCHANGED = 1_000;

/** A token this close to expiry is not handed out: it could expire on its way to the callee. */
const EXPIRY_MARGIN_MS = 2_000;

interface Slot {
  token?: TokenResponse & { obtainedAt: number };
  inflight?: Promise<TokenResponse>;
  failures: number;
  retryAt: number;
  lastFailure?: unknown;
}

/**
 * Client-credentials tokens for calling other services (RFC 6749 §4.4, RFC 8707 resource).
 * While the identity provider is unreachable, a cached token is used until it expires; after that
 * calls fail with SDK_TOKEN_ENDPOINT_UNAVAILABLE (503), and the first call after the backoff tries
 * again, so the client recovers by itself.
 */
export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  if (!options.tokenEndpoint && !options.issuer) throw new TypeError('tokenEndpoint or issuer is required');
  if (typeof options.clientId !== 'string' || options.clientId === '')
    throw new TypeError('clientId is required');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const refreshBeforeMs = (options.refreshBeforeExpirySec ?? 30) * 1000;
  const initialBackoff = options.backoff?.initialMs ?? 500;
  const maxBackoff = options.backoff?.maxMs ?? 30_000;
  const slots = new Map<string, Slot>();
  let endpoint: Promise<string> | undefined = options.tokenEndpoint
    ? Promise.resolve(options.tokenEndpoint)
    : undefined;

  function tokenEndpoint(): Promise<string> {
    if (!endpoint) {
      const issuer = options.issuer as string;
      endpoint = discoverTokenEndpoint(issuer, fetchImpl, timeoutMs);
      // A failed discovery is retried on the next refresh.
      endpoint.catch(() => {
        endpoint = undefined;
      });
    }
    return endpoint;
  }

  async function refresh(slot: Slot, tokenOptions: TokenOptions): Promise<TokenResponse> {
    try {
      const url = await tokenEndpoint();
      const token = await requestToken({
        tokenEndpoint: url,
        assertionAudience: options.issuer ?? url,
        clientId: options.clientId,
        credentials: options.credentials,
        resource: tokenOptions.audience,
        scope: tokenOptions.scope ?? options.scope,
        timeoutMs,
        fetch: fetchImpl,
      });
      slot.token = { ...token, obtainedAt: Date.now() };
      slot.failures = 0;
      slot.retryAt = 0;
      slot.lastFailure = undefined;
      return token;
    } catch (err) {
      slot.failures++;
      slot.retryAt = Date.now() + Math.min(maxBackoff, initialBackoff * 2 ** (slot.failures - 1));
      slot.lastFailure =
        err instanceof TokenRequestFailure ? err : new TokenRequestFailure(String(err), true, err);
      throw slot.lastFailure;
    } finally {
      slot.inflight = undefined;
    }
  }

  async function getToken(tokenOptions: TokenOptions = {}): Promise<string> {
    const key = `${tokenOptions.audience ?? ''}\n${tokenOptions.scope ?? ''}`;
    let slot = slots.get(key);
    if (!slot) {
      slot = { failures: 0, retryAt: 0 };
      slots.set(key, slot);
    }
    const now = Date.now();
    const cached = slot.token;
    const valid = cached !== undefined && now < cached.expiresAt - EXPIRY_MARGIN_MS;
    if (cached && valid) {
      const lifetime = cached.expiresAt - cached.obtainedAt;
      if (now < cached.expiresAt - Math.min(refreshBeforeMs, lifetime / 2)) return cached.accessToken;
    }
    if (now < slot.retryAt) {
      if (cached && valid) return cached.accessToken;
      unavailable(slot.lastFailure);
    }
    slot.inflight ??= refresh(slot, tokenOptions);
    if (cached && valid) {
      // Refresh in the background; callers keep the still-valid token meanwhile.
      slot.inflight.catch(() => {});
      return cached.accessToken;
    }
    try {
      return (await slot.inflight).accessToken;
    } catch (err) {
      unavailable(err);
    }
  }

  const exchanged = new Map<
    string,
    { token: TokenResponse; inflight?: undefined } | { inflight: Promise<TokenResponse> }
  >();

  async function exchangeToken({ subjectToken, audience, scope }: ExchangeOptions): Promise<string> {
    if (typeof subjectToken !== 'string' || subjectToken === '')
      throw new TypeError('subjectToken is required');
    // The subject token is a credential: key the cache by its hash, never keep it as a key.
    const key = `${createHash('sha256').update(subjectToken).digest('base64url')}\n${audience}\n${scope ?? ''}`;
    const entry = exchanged.get(key);
    if (entry) {
      exchanged.delete(key);
      if (entry.inflight) {
        exchanged.set(key, entry);
        return (await entry.inflight.catch(unavailable)).accessToken;
      }
      if (Date.now() < entry.token.expiresAt - EXPIRY_MARGIN_MS) {
        exchanged.set(key, entry);
        return entry.token.accessToken;
      }
    }
    const grant: Record<string, string> = {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
    };
    const inflight = tokenEndpoint().then((url) =>
      requestToken({
        tokenEndpoint: url,
        assertionAudience: options.issuer ?? url,
        clientId: options.clientId,
        credentials: options.credentials,
        resource: audience,
        scope,
        grant,
        issuedTokenType: ACCESS_TOKEN_TYPE,
        timeoutMs,
        fetch: fetchImpl,
      }),
    );
    exchanged.set(key, { inflight });
    try {
      const token = await inflight;
      exchanged.set(key, { token });
      while (exchanged.size > MAX_EXCHANGED) exchanged.delete(exchanged.keys().next().value as string);
      return token.accessToken;
    } catch (err) {
      exchanged.delete(key);
      unavailable(err);
    }
  }

  return {
    getToken,
    exchangeToken,
    async fetch(url, init = {}, tokenOptions = {}) {
      const token = await getToken(tokenOptions);
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetchImpl(url, { ...init, headers });
    },
    clear() {
      slots.clear();
      exchanged.clear();
    },
  };
}
