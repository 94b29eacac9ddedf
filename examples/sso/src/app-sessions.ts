import { randomBytes } from 'node:crypto';

/**
 * One application's signed-in sessions, in memory: this demo runs one replica per app. An app with
 * several replicas keeps them in shared storage instead, so that a back-channel logout received by
 * one replica ends the session on all of them.
 */
export interface AppSession {
  id: string;
  /** The identity provider's subject and its session id for this client (`sid` of the ID token). */
  sub: string;
  sid: string | undefined;
  username: string;
  roles: string[];
  idToken: string;
  expiresAt: number;
}

export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  expiresAt: number;
}

const SESSION_TTL_MS = 8 * 3600_000;
const LOGIN_TTL_MS = 10 * 60_000;

function newId(): string {
  return randomBytes(32).toString('base64url');
}

export function createAppSessions() {
  const sessions = new Map<string, AppSession>();
  const pending = new Map<string, PendingLogin>();
  const live = <T extends { expiresAt: number }>(
    map: Map<string, T>,
    id: string | undefined,
  ): T | undefined => {
    if (id === undefined) return undefined;
    const entry = map.get(id);
    if (entry && entry.expiresAt <= Date.now()) map.delete(id);
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  };
  return {
    startLogin(login: Omit<PendingLogin, 'expiresAt'>): string {
      const id = newId();
      pending.set(id, { ...login, expiresAt: Date.now() + LOGIN_TTL_MS });
      return id;
    },
    /** The pending login, once: a callback cannot be replayed. */
    takeLogin(id: string | undefined): PendingLogin | undefined {
      const login = live(pending, id);
      if (id !== undefined) pending.delete(id);
      return login;
    },
    create(session: Omit<AppSession, 'id' | 'expiresAt'>): AppSession {
      const created = { ...session, id: newId(), expiresAt: Date.now() + SESSION_TTL_MS };
      sessions.set(created.id, created);
      return created;
    },
    get(id: string | undefined): AppSession | undefined {
      return live(sessions, id);
    },
    end(id: string | undefined): AppSession | undefined {
      const session = live(sessions, id);
      if (id !== undefined) sessions.delete(id);
      return session;
    },
    /** Back-channel logout: every session of that identity-provider session (or of that subject). */
    endMatching(match: { sid?: string; sub?: string }): number {
      let ended = 0;
      for (const [id, s] of sessions) {
        const hit = match.sid !== undefined ? s.sid === match.sid : s.sub === match.sub;
        if (hit) {
          sessions.delete(id);
          ended++;
        }
      }
      return ended;
    },
    get size(): number {
      return sessions.size;
    },
  };
}

export type AppSessions = ReturnType<typeof createAppSessions>;
