import { createHash, randomBytes } from 'node:crypto';
import { GatehouseError, type Logger } from '@gatehouse/core';
import type { SharedState } from '../contracts.ts';
import { gatewayErrors } from '../errors.ts';
import type { Sealer } from './bff-seal.ts';

/**
 * Browser sessions of the BFF, kept server-side in `SharedState` (so every replica sees them),
 * sealed at rest and keyed by a hash of the session id: the state store never holds the cookie's
 * value, so reading it (a Redis dump, a backup) gives no usable session. The browser holds only the
 * random id.
 *
 * Access tokens are refreshed when they come within `refreshBeforeSec` of expiry, one refresh per
 * session at a time: the identity provider rotates refresh tokens and treats a reused one as
 * theft (it revokes the whole grant), so two concurrent refreshes would log the user out. In one
 * process a shared promise; across replicas a short lock in the state store.
 */
export interface BffTokens {
  accessToken: string;
  refreshToken?: string | undefined;
  idToken?: string | undefined;
  /** Epoch seconds. */
  expiresAt: number;
}

export interface StoredSession extends BffTokens {
  /** Epoch seconds; the session ends `ttlSec` after this, refreshed or not. */
  createdAt: number;
}

export interface BffSessionsOptions {
  state: SharedState;
  sealer: Sealer;
  logger: Logger;
  ttlSec: number;
  refreshBeforeSec: number;
  /** Where this client's sessions are kept in the state store; each client has its own. */
  keyPrefix?: string;
  /**
   * Exchange a refresh token. Throws GW_BFF_SESSION_EXPIRED when the identity provider refuses it,
   * GW_BFF_IDP_UNAVAILABLE when it cannot be reached.
   */
  refresh(refreshToken: string): Promise<BffTokens>;
}

export interface BffSessions {
  /** Store a new session; resolves to its id (the cookie value). */
  create(tokens: BffTokens): Promise<string>;
  /** A fresh access token for the session, or undefined when there is no such session. */
  accessToken(sessionId: string): Promise<string | undefined>;
  /** Forget the session; resolves to what it held (for logout at the identity provider). */
  end(sessionId: string): Promise<StoredSession | undefined>;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const LOCK_TTL_MS = 15_000;
const WAIT_STEP_MS = 100;
const WAIT_STEPS = 50;

const nowSec = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createBffSessions(options: BffSessionsOptions): BffSessions {
  const { state, sealer } = options;
  const inflight = new Map<string, Promise<StoredSession>>();
  const prefix = options.keyPrefix ?? 'gatehouse:bff:session:';
  const keyOf = (sessionId: string) =>
    `${prefix}${createHash('sha256').update(sessionId).digest('base64url')}`;

  async function read(key: string): Promise<StoredSession | undefined> {
    const sealed = await state.get(key);
    if (sealed === null) return undefined;
    const plain = sealer.open(sealed, key);
    if (plain === undefined) {
      // Another secret (rotated without migration) or tampering: either way the session is gone.
      options.logger.warn('a stored browser session could not be decrypted; it is dropped');
      await state.delete(key);
      return undefined;
    }
    return JSON.parse(plain) as StoredSession;
  }

  async function write(key: string, session: StoredSession): Promise<void> {
    const ttlMs = (session.createdAt + options.ttlSec - nowSec()) * 1000;
    if (ttlMs <= 0) {
      await state.delete(key);
      throw gatewayErrors.create('GW_BFF_SESSION_EXPIRED');
    }
    await state.set(key, sealer.seal(JSON.stringify(session), key), ttlMs);
  }

  async function refreshed(key: string, seen: StoredSession): Promise<StoredSession> {
    const lock = `${key}:refreshing`;
    if (!(await state.setIfAbsent(lock, '1', LOCK_TTL_MS))) {
      // Another replica is refreshing this session: wait for its result to land in the store.
      for (let i = 0; i < WAIT_STEPS; i++) {
        await sleep(WAIT_STEP_MS);
        const current = await read(key);
        if (!current) throw gatewayErrors.create('GW_BFF_SESSION_EXPIRED');
        if (current.accessToken !== seen.accessToken) return current;
      }
      if (seen.expiresAt > nowSec()) return seen;
      throw gatewayErrors.create('GW_BFF_IDP_UNAVAILABLE');
    }
    try {
      // Another replica may have finished just before this one took the lock.
      const current = await read(key);
      if (!current) throw gatewayErrors.create('GW_BFF_SESSION_EXPIRED');
      if (current.accessToken !== seen.accessToken || !current.refreshToken) return current;
      let tokens: BffTokens;
      try {
        tokens = await options.refresh(current.refreshToken);
      } catch (err) {
        if (gatewayErrors.is(err, 'GW_BFF_SESSION_EXPIRED')) {
          await state.delete(key);
          throw err;
        }
        // The identity provider is away: a token that is still valid keeps the session working.
        if (current.expiresAt > nowSec()) return current;
        throw err instanceof GatehouseError ? err : gatewayErrors.create('GW_BFF_IDP_UNAVAILABLE');
      }
      const next: StoredSession = {
        ...current,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken ?? current.refreshToken,
        idToken: tokens.idToken ?? current.idToken,
        expiresAt: tokens.expiresAt,
      };
      await write(key, next);
      return next;
    } finally {
      await state.delete(lock);
    }
  }

  return {
    async create(tokens) {
      const sessionId = randomBytes(32).toString('base64url');
      await write(keyOf(sessionId), { ...tokens, createdAt: nowSec() });
      return sessionId;
    },
    async accessToken(sessionId) {
      if (!SESSION_ID.test(sessionId)) return undefined;
      const key = keyOf(sessionId);
      const session = await read(key);
      if (!session) return undefined;
      if (session.expiresAt - nowSec() > options.refreshBeforeSec || !session.refreshToken) {
        return session.accessToken;
      }
      let pending = inflight.get(key);
      if (!pending) {
        pending = refreshed(key, session).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return (await pending).accessToken;
    },
    async end(sessionId) {
      if (!SESSION_ID.test(sessionId)) return undefined;
      const key = keyOf(sessionId);
      const session = await read(key);
      await state.delete(key);
      return session;
    },
  };
}
