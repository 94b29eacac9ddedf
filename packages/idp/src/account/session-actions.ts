import { requestIsHttps } from '@gatehouse/core';
import { sessionCookie } from '../sessions/session-token.ts';
import { type Action, type ActionDeps, done } from './account-action.ts';

/** The session forms: end one or every other session, revoke an application, sign out. */
export function sessionActions(d: ActionDeps): Record<string, Action> {
  const { self } = d;
  const { trusted, sessions } = d.accounts;
  return {
    'sessions/end': {
      fields: ['id'],
      at: () => 'sessions',
      async run({ who, fields }) {
        await self.endSession(who, fields['id']!);
        return done('session-ended', 'sessions');
      },
    },
    'sessions/end-others': {
      fields: [],
      at: () => 'sessions',
      async run({ who }) {
        await self.endOtherSessions(who);
        return done('others-ended', 'sessions');
      },
    },
    'consents/revoke': {
      fields: ['id'],
      at: () => 'consents',
      async run({ who, fields }) {
        await self.revokeConsent(who, fields['id']!);
        return done('revoked', 'applications');
      },
    },
    'sign-out': {
      fields: [],
      at: () => 'sessions',
      async run({ req, caller, who }) {
        if (caller.via === 'cookie' && caller.sid) {
          await sessions.end(caller.sid, 'logout', { actor: caller.accountId, sourceIp: who.ip });
          const cleared = sessionCookie('', { maxAgeSeconds: 0, secure: requestIsHttps(req, trusted) });
          return { redirect: '/', headers: { 'set-cookie': cleared } };
        }
        await self.endOwnSignIn(who);
        return { redirect: '/' };
      },
    },
  };
}
