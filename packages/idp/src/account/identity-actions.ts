import { randomBytes } from 'node:crypto';
import { requestIsHttps } from '@gatehouse/core';
import { accountServices } from '../accounts/account-services.ts';
import { ACCOUNT_LINK_COOKIE, accountLinkBinding } from '../brokering/account-link.ts';
import { type Action, type ActionDeps, done } from './account-action.ts';

/** The linked-identity forms: link another provider (through its sign-in), unlink one. */
export function identityActions(d: ActionDeps): Record<string, Action> {
  const { brokering, issuerPath, idp } = d;
  const { trusted } = d.accounts;
  return {
    'identities/link': {
      fields: ['provider'],
      at: () => 'identities',
      async run({ req, caller, fields }) {
        // The upstream's callback must come back to this browser: a cookie only it holds, its
        // digest kept with the pending link (brokering/account-link.ts).
        const nonce = randomBytes(32).toString('base64url');
        const url = await brokering.start(fields['provider'], {
          mode: 'link',
          userId: caller.accountId,
          sid: accountLinkBinding(nonce),
        });
        const secure = requestIsHttps(req, trusted) ? '; Secure' : '';
        return {
          redirect: url.href,
          headers: {
            'set-cookie': `${ACCOUNT_LINK_COOKIE}=${nonce}; Path=${issuerPath}/interaction/broker-callback; HttpOnly; SameSite=Lax; Max-Age=600${secure}`,
          },
        };
      },
    },
    'identities/unlink': {
      fields: ['provider'],
      at: () => 'identities',
      async run({ caller, who, fields }) {
        const provider = fields['provider']!;
        const removed = await brokering.identities.unlink(caller.accountId, provider);
        await accountServices(idp).audit.record({
          type: 'broker.unlinked',
          actor: caller.accountId,
          subject: caller.accountId,
          sourceIp: who.ip,
          details: { provider, upstreamSubject: removed.subject, via: who.via },
        });
        return done('unlinked', 'identities');
      },
    },
  };
}
